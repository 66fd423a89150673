"""Command line: ``python -m fasta_drs.generator STORE DIGEST OUTPUT``.

Prints a progress bar on a terminal (standard error), one JSON line with
the result on standard output, and exits with a status a script can act
on: 0 done, 2 no such collection, 75 retriable failure (try again later),
64 bad arguments, 1 permanent failure.
"""

import argparse
import json
import logging
import os
import signal
import sys
import time

from . import __version__
from .bgzf import DEFAULT_LEVEL, LEVELS
from .errors import GenerationCancelled, GenerationError
from .fasta_text import DEFAULT_LINE_WIDTH
from .pipeline import generate_fasta


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Exit 2 means "no such collection" here, so usage errors use 64.
        self.print_usage(sys.stderr)
        self.exit(os.EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog="python -m fasta_drs.generator",
        description=(
            "Write a RefgetStore collection as BGZF FASTA with .fai, .gzi and a "
            "JSON manifest, verifying every sequence against its digest."
        ),
    )
    parser.add_argument(
        "store", help="store directory, https:// URL or s3://bucket/prefix/"
    )
    parser.add_argument("digest", help="seqcol digest of the collection")
    parser.add_argument("output", help="output directory or s3://bucket/prefix/")
    parser.add_argument(
        "--line-width",
        type=int,
        default=DEFAULT_LINE_WIDTH,
        help=f"bases per line (default {DEFAULT_LINE_WIDTH})",
    )
    parser.add_argument(
        "--names", help="comma-separated sequence names to write, in this order"
    )
    parser.add_argument(
        "--level",
        type=int,
        choices=LEVELS,
        default=DEFAULT_LEVEL,
        help=f"libdeflate level, 0-12 (default {DEFAULT_LEVEL})",
    )
    parser.add_argument(
        "--threads", type=int, help="compression threads (default: cores)"
    )
    parser.add_argument(
        "--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL)"
    )
    parser.add_argument("--cache-dir", help="cache directory for remote stores")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, only the JSON line"
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


class ProgressBar:
    """A one-line progress bar on a terminal, redrawn a few times a second."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self._drawn = 0.0

    def __call__(self, progress):
        now = time.monotonic()
        if now - self._drawn < 0.1 and progress.fraction < 1.0:
            return
        self._drawn = now
        filled = int(progress.fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        speed = progress.text_bytes_done / 1e6 / max(progress.elapsed_seconds, 1e-6)
        self.stream.write(
            f"\r[{bar}] {progress.fraction:6.1%}  "
            f"{progress.bases_done / 1e6:8.1f}/{progress.bases_total / 1e6:.1f} Mb  "
            f"{speed:6.1f} MB/s  {progress.stage:<14}"
        )
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def _stop_on_sigterm():
    def handler(signum, frame):
        raise GenerationCancelled(
            f"Stopped by signal {signum}; nothing was published. Run it again."
        )

    signal.signal(signal.SIGTERM, handler)


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    _stop_on_sigterm()
    names = None
    if arguments.names:
        names = [name.strip() for name in arguments.names.split(",") if name.strip()]
    bar = None
    if not arguments.quiet and sys.stderr.isatty():
        bar = ProgressBar(sys.stderr)

    try:
        manifest = generate_fasta(
            arguments.store,
            arguments.digest,
            arguments.output,
            line_width=arguments.line_width,
            names=names,
            level=arguments.level,
            threads=arguments.threads,
            cache_dir=arguments.cache_dir,
            endpoint_url=arguments.endpoint_url,
            on_progress=bar,
        )
    except GenerationError as error:
        if bar:
            bar.close()
        print(f"error: {error.message}", file=sys.stderr)
        print(
            json.dumps(
                {"state": "failed", "digest": arguments.digest, **error.as_dict()}
            )
        )
        return error.exit_status
    if bar:
        bar.close()
    summary = {
        "state": "ready",
        "digest": manifest["collection_digest"],
        "output": arguments.output,
        "object": manifest["object"],
        "size": manifest["size"],
        "md5": manifest["md5"],
        "sha256": manifest["sha256"],
        "sequences": manifest["sequence_count"],
        "bases": manifest["bases"],
        "seconds": manifest["seconds"]["total"],
        "throughput_mb_per_second": manifest["throughput_mb_per_second"],
    }
    print(json.dumps(summary))
    return 0
