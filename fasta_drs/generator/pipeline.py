"""Generate one collection's BGZF FASTA, its indexes and its manifest.

The stages run as one stream with bounded memory::

    store files ──▶ export child (gtars) ──pipe──▶ verifier ──▶ BGZF blocks
        (compressed in a thread pool) ──▶ writer (MD5, SHA-256, S3 parts)

The export child writes the FASTA text; this process checks every header,
newline and sequence digest of that text as it reads it, cuts it into BGZF
blocks, compresses them in parallel and streams them into the output. No
uncompressed FASTA touches the disk. The objects appear in the order
``.fai``, ``.gzi``, ``.fa.gz`` (made visible only when complete), then the
manifest, so a reader that waits for the manifest sees every object
whole. Progress goes to a status object at most every few seconds, and a
failure leaves its error there.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import gtars

from . import __version__
from .bgzf import BLOCK_INPUT_SIZE, DEFAULT_LEVEL, LIBRARY, BgzfWriter, check_level
from .errors import (
    CollectionNotFound,
    GenerationCancelled,
    GenerationError,
    InternalError,
    StoreUnavailable,
)
from .fasta_text import DEFAULT_LINE_WIDTH, FastaLayout, TextVerifier
from .outputs import open_output
from .stores import prepare_store

logger = logging.getLogger(__name__)

DIGEST_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
STATUS_INTERVAL_SECONDS = 2.0
# A "running" status not updated for this long belongs to a dead generation
# (AWS Lambda stops a function after 15 minutes), whose open upload may be
# aborted; a fresher one may be a live twin, whose upload is left alone.
STALE_STATUS_SECONDS = 20 * 60
# One export batch holds at most this many bases or sequences, which bounds
# the export child's memory and amortises reopening the store.
_BATCH_BASES = 16 * 1024 * 1024
_BATCH_SEQUENCES = 1000
# Longer sequences are streamed rather than loaded whole by the child.
STREAM_ABOVE_BASES = 64 * 1024 * 1024
_PIPE_SIZE = 1024 * 1024
_READ_SIZE = 1024 * 1024
# Run by path, not with -m: importing the package would load boto3 too.
_EXPORT_WORKER = Path(__file__).with_name("export_worker.py")


def _export_environment():
    """The child's environment: ours, with the directory gtars was imported
    from first on its path. An interpreter started with -I or -S (or a
    Lambda runtime that put the package on ``sys.path`` itself) would
    otherwise start a child that cannot find gtars."""
    root = str(Path(gtars.__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    path = root if not inherited else os.pathsep.join([root, inherited])
    return {**os.environ, "PYTHONPATH": path}


def object_names(collection_digest):
    """Return the names of the objects one generation writes."""
    fasta = f"{collection_digest}.fa.gz"
    return {
        "fasta": fasta,
        "fai": f"{fasta}.fai",
        "gzi": f"{fasta}.gzi",
        "manifest": f"{collection_digest}.json",
        "status": f"{collection_digest}.status.json",
    }


def check_digest(collection_digest):
    """Raise `CollectionNotFound` unless the text can be a seqcol digest."""
    if not isinstance(collection_digest, str) or not DIGEST_PATTERN.match(
        collection_digest
    ):
        raise CollectionNotFound(
            f"{collection_digest!r} is not a collection digest: a seqcol digest is "
            "32 characters of A-Z, a-z, 0-9, '-' and '_'."
        )


@dataclass(frozen=True)
class Progress:
    """How far a generation is, as reported to callbacks and status."""

    stage: str
    bases_done: int = 0
    bases_total: int = 0
    text_bytes_done: int = 0
    text_bytes_total: int = 0
    compressed_bytes: int = 0
    elapsed_seconds: float = 0.0

    @property
    def fraction(self):
        if not self.text_bytes_total:
            return 0.0
        return min(1.0, self.text_bytes_done / self.text_bytes_total)

    def as_dict(self):
        return {
            "stage": self.stage,
            "fraction": round(self.fraction, 4),
            "bases_done": self.bases_done,
            "bases_total": self.bases_total,
            "text_bytes_done": self.text_bytes_done,
            "text_bytes_total": self.text_bytes_total,
            "compressed_bytes": self.compressed_bytes,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def generate_fasta(
    store,
    collection_digest,
    output,
    *,
    line_width=DEFAULT_LINE_WIDTH,
    names=None,
    level=DEFAULT_LEVEL,
    threads=None,
    cache_dir=None,
    endpoint_url=None,
    s3_client=None,
    part_size=None,
    on_progress=None,
    should_stop=None,
    status_interval=STATUS_INTERVAL_SECONDS,
    stale_upload_seconds=None,
):
    """Write a collection's BGZF FASTA, indexes and manifest to ``output``.

    Args:
        store: A store directory, ``https://`` URL or ``s3://bucket/prefix/``.
        collection_digest: The seqcol digest of the collection.
        output: A directory or ``s3://bucket/prefix/`` (default ``fasta/``).
        line_width: Bases per FASTA line.
        names: Sequence names to write, in this order; all when None.
        level: libdeflate level, 0 (stored) to 12.
        threads: Compression threads; one per core when None.
        cache_dir: Cache directory for remote stores.
        endpoint_url: S3 endpoint, for S3-compatible servers.
        s3_client: A boto3 S3 client to use for the store and the output.
        part_size: Bytes per S3 multipart part.
        on_progress: Called with a `Progress` as the generation advances.
        should_stop: Polled often; when it returns true the generation is
            abandoned (its upload aborted) with `GenerationCancelled`.
        status_interval: Seconds between status object updates at least.
        stale_upload_seconds: Abort this object's open uploads before
            starting unless a generation reported running within this many
            seconds (default `STALE_STATUS_SECONDS`).

    Returns:
        The manifest, as a dict.

    Raises:
        CollectionNotFound: No such collection or sequence name.
        StoreUnavailable: The store cannot be read (retriable).
        VerificationFailed: Decoded bases disagree with the store's digests.
        OutputNotWritable: The output refused a write (retriable).
        InvalidOptions: The options are not usable.
        GenerationCancelled: ``should_stop`` asked to stop.
    """
    check_digest(collection_digest)
    check_level(level)
    threads = threads or len(os.sched_getaffinity(0))
    sink = open_output(
        output, endpoint_url=endpoint_url, s3_client=s3_client, part_size=part_size
    )
    run = _Generation(
        sink=sink,
        collection_digest=collection_digest,
        on_progress=on_progress,
        should_stop=should_stop,
        status_interval=status_interval,
    )
    logger.info(
        "generation started",
        extra={"collection_digest": collection_digest, "output": str(sink.location)},
    )
    try:
        # Uploads of a dead generation are aborted now, before this run
        # reports (a twin that starts meanwhile then sees this run as live)
        # and long before it opens its own upload.
        stale = (
            STALE_STATUS_SECONDS
            if stale_upload_seconds is None
            else stale_upload_seconds
        )
        if not run.twin_is_live(stale):
            sink.abort_uploads(run.names["fasta"])
        run.report("opening store", force=True)
        prepared = prepare_store(
            store,
            collection_digest,
            names=list(names) if names is not None else None,
            cache_dir=cache_dir,
            endpoint_url=endpoint_url,
            s3_client=s3_client,
        )
        run.mark("store")
        try:
            layout = FastaLayout(prepared.sequences, line_width)
            manifest = run.write(prepared, layout, level, threads)
        finally:
            prepared.close()
    except BaseException as exc:
        error = _as_generation_error(exc)
        run.failed(error)
        log = logger.exception if isinstance(error, InternalError) else logger.error
        log(
            "generation failed: %s",
            error.message,
            extra={"collection_digest": collection_digest, "code": error.code},
        )
        if error is exc or not isinstance(exc, Exception | KeyboardInterrupt):
            raise  # SystemExit and the like go on as they are
        raise error from exc
    logger.info(
        "generation finished: %d bases, %d bytes in %.1f s",
        manifest["bases"],
        manifest["size"],
        manifest["seconds"]["total"],
        extra={"collection_digest": collection_digest},
    )
    return manifest


def _as_generation_error(exc):
    """Return the `GenerationError` that ``exc`` is recorded as."""
    if isinstance(exc, GenerationError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return GenerationCancelled("The generation was interrupted; run it again.")
    return InternalError(
        f"The generation failed unexpectedly: {exc!r}. This is a fault of the "
        "generator; the traceback is in its log."
    )


class _Generation:
    """State of one generation: timings, progress and the status object."""

    def __init__(
        self, *, sink, collection_digest, on_progress, should_stop, status_interval
    ):
        self.sink = sink
        self.digest = collection_digest
        self.names = object_names(collection_digest)
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.status_interval = status_interval
        self.started = time.monotonic()
        self.started_time = _now()
        self.timings = {}
        self._last_mark = self.started
        self._last_status = 0.0
        self.progress = Progress(stage="starting")
        self.export_report = {}

    def mark(self, stage):
        """Record the seconds spent in ``stage`` since the last mark."""
        now = time.monotonic()
        self.timings[stage] = round(now - self._last_mark, 3)
        self._last_mark = now

    def report(self, stage, force=False, **counts):
        """Publish progress to the callback and, now and then, to S3."""
        self.progress = Progress(
            stage=stage, elapsed_seconds=time.monotonic() - self.started, **counts
        )
        if self.on_progress:
            self.on_progress(self.progress)
        now = time.monotonic()
        if force or now - self._last_status >= self.status_interval:
            self._last_status = now
            self._put_status("running", progress=self.progress.as_dict())

    def twin_is_live(self, max_age):
        """Whether the status object shows a generation running right now."""
        raw = self.sink.get(self.names["status"])
        if not raw:
            return False
        try:
            status = json.loads(raw)
            updated = datetime.fromisoformat(
                status["updated_time"].replace("Z", "+00:00")
            )
        except (ValueError, KeyError, TypeError):
            return False
        age = (datetime.now(UTC) - updated).total_seconds()
        return status.get("state") == "running" and age < max_age

    def check_stop(self):
        if self.should_stop and self.should_stop():
            raise GenerationCancelled(
                "The generation was stopped before it finished (deadline or "
                "signal); nothing was published. Run it again."
            )

    def failed(self, error):
        try:
            self._put_status(
                "failed", progress=self.progress.as_dict(), error=error.as_dict()
            )
        except GenerationError:
            logger.exception(
                "could not record the failure", extra={"collection_digest": self.digest}
            )

    def _put_status(self, state, **fields):
        status = {
            "collection_digest": self.digest,
            "state": state,
            "started_time": self.started_time,
            "updated_time": _now(),
            "generator_version": __version__,
            **fields,
        }
        try:
            self.sink.put(self.names["status"], _json(status))
        except GenerationError:
            if state != "running":
                raise
            logger.warning(
                "could not update the status object",
                extra={"collection_digest": self.digest},
            )

    def write(self, prepared, layout, level, threads):
        """Stream, verify, compress and publish; return the manifest.

        The FASTA becomes visible when its upload completes, then come its
        indexes, then the manifest, which is what readers wait for. A run
        that fails removes only its own unfinished upload, never an object:
        a twin delivering the same event may have published the same bytes.
        """
        names = self.names
        writer = self.sink.open_writer(names["fasta"], content_type="application/gzip")
        compressor = BgzfWriter(writer.write, level=level, threads=threads)
        verifier = TextVerifier(layout)
        try:
            self._stream(prepared, layout, verifier, compressor)
            compressor.close()
            self.mark("stream")
            self.report(
                "publishing", force=True, **self._counts(layout, verifier, writer)
            )
            fai = layout.fai()
            gzi = compressor.gzi()
            self.check_stop()
            digests = writer.commit()
        except BaseException:
            compressor.cancel()
            writer.abort()
            raise
        finally:
            verifier.close()
        self.sink.put(names["fai"], fai, content_type="text/plain")
        self.sink.put(names["gzi"], gzi, content_type="application/octet-stream")

        manifest = self._manifest(prepared, layout, level, threads, digests, fai, gzi)
        self.sink.put(names["manifest"], _json(manifest))
        self._put_status("ready", manifest=names["manifest"], size=manifest["size"])
        return manifest

    def _stream(self, prepared, layout, verifier, compressor):
        with _ExportProcess(prepared, layout) as text:
            for chunk in text.chunks():
                self.check_stop()
                verifier.feed(chunk)
                compressor.write(chunk)
                self.report(
                    "compressing",
                    bases_done=verifier.bases_seen,
                    bases_total=layout.bases,
                    text_bytes_done=verifier.bytes_seen,
                    text_bytes_total=layout.text_size,
                    compressed_bytes=compressor.compressed_offset,
                )
            self.export_report = text.wait()
        verifier.finish()

    def _counts(self, layout, verifier, writer):
        return {
            "bases_done": verifier.bases_seen,
            "bases_total": layout.bases,
            "text_bytes_done": verifier.bytes_seen,
            "text_bytes_total": layout.text_size,
            "compressed_bytes": writer.digests.size,
        }

    def _manifest(self, prepared, layout, level, threads, digests, fai, gzi):
        self.mark("publish")
        total = time.monotonic() - self.started
        self.timings["total"] = round(total, 3)
        return {
            "collection_digest": self.digest,
            "object": self.names["fasta"],
            "mime_type": "application/gzip",
            "size": digests["size"],
            "md5": digests["md5"],
            "sha256": digests["sha256"],
            "created_time": _now(),
            "line_width": layout.line_width,
            "names": [record.name for record in layout.records],
            "sequence_count": len(layout.records),
            "bases": layout.bases,
            "fasta_text_size": layout.text_size,
            "indexes": {
                "fai": _describe(self.names["fai"], fai),
                "gzi": _describe(self.names["gzi"], gzi),
            },
            "generator_version": __version__,
            "compression": {
                "format": "BGZF",
                "library": LIBRARY,
                "level": level,
                "block_size": BLOCK_INPUT_SIZE,
                "threads": threads,
            },
            "store": {
                "location": str(prepared.location),
                "storage_mode": prepared.storage_mode,
                "fetched_bytes": prepared.fetched_bytes,
            },
            "seconds": dict(self.timings),
            "export_peak_rss_mb": _megabytes(self.export_report.get("peak_rss_kb")),
            "throughput_mb_per_second": round(layout.text_size / 1e6 / total, 1),
        }


class _ExportProcess:
    """The child process that writes the FASTA text, and its pipe."""

    def __init__(self, prepared, layout):
        self.prepared = prepared
        self.layout = layout
        self.process = None
        self._read_fd = None
        self._feeder = None
        self._feed_error = None

    def __enter__(self):
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):  # a smaller pipe only means more reads
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._read_fd = read_fd
        self._stderr = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(_EXPORT_WORKER)],
                env=_export_environment(),
                stdin=subprocess.PIPE,
                stderr=self._stderr,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        job = {
            "store_path": str(self.prepared.local_path),
            "collection_digest": self.prepared.collection_digest,
            "line_width": self.layout.line_width,
            "output_fd": write_fd,
        }
        self.process.stdin.write(json.dumps(job).encode() + b"\n")
        self.process.stdin.flush()
        self._feeder = threading.Thread(
            target=self._feed_batches, name="export-feeder", daemon=True
        )
        self._feeder.start()
        return self

    def _feed_batches(self):
        """Send each batch to the child once its files are local."""
        try:
            headers = {record.name: record.header for record in self.layout.records}
            for batch in _batches(self.prepared.sequences):
                self.prepared.wait_for(batch)
                line = json.dumps(
                    {
                        "stream": batch[0].length > STREAM_ABOVE_BASES,
                        "sequences": [
                            (e.name, e.sha512t24u, headers[e.name].decode())
                            for e in batch
                        ],
                    }
                )
                self.process.stdin.write(line.encode() + b"\n")
                self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the child is gone; its exit status tells why
        except BaseException as exc:  # reported by wait()
            self._feed_error = exc
        finally:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def chunks(self):
        """Yield the text as it arrives, until the child closes the pipe."""
        while chunk := os.read(self._read_fd, _READ_SIZE):
            yield chunk

    def wait(self):
        """Wait for the child; raise `StoreUnavailable` if it failed.

        Returns:
            The child's report: its peak resident memory in KiB.
        """
        self._feeder.join()
        if self._feed_error is not None:
            raise self._feed_error
        status = self.process.wait()
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        report = {}
        with contextlib.suppress(ValueError, IndexError):
            report = json.loads(lines[-1])
        if status != 0:
            detail = report.get("message") or (lines[-1] if lines else "")
            raise StoreUnavailable(
                f"gtars could not export the collection from "
                f"{self.prepared.location}: {detail or f'exit status {status}'}. "
                "The store may be damaged or incomplete; check it, then retry."
            )
        return report

    def __exit__(self, *exc_info):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.prepared.close()
        if self._feeder is not None:
            self._feeder.join(timeout=10)
        os.close(self._read_fd)
        self._stderr.close()


def _batches(sequences):
    """Group sequences into export batches, keeping their order.

    A sequence longer than `STREAM_ABOVE_BASES` makes a batch of its own,
    which the child streams.
    """
    batches = [[]]
    bases = 0
    for entry in sequences:
        batch = batches[-1]
        alone = entry.length > STREAM_ABOVE_BASES
        if batch and (
            alone
            or batch[0].length > STREAM_ABOVE_BASES
            or bases + entry.length > _BATCH_BASES
            or len(batch) >= _BATCH_SEQUENCES
        ):
            batches.append([])
            batch = batches[-1]
            bases = 0
        batch.append(entry)
        bases += entry.length
    return batches


def _describe(name, data):
    """Name, size and checksums of a small object, for the manifest."""
    return {
        "object": name,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _megabytes(kibibytes):
    return None if kibibytes is None else round(kibibytes / 1024, 1)


def _now():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(document):
    return (json.dumps(document, indent=2) + "\n").encode()
