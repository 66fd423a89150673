"""Benchmark: the generator beside the design it replaces and bgzip's floor.

For each genome size it builds a synthetic genome (24 chromosomes), imports
it into a RefgetStore, publishes the store to a local moto S3 server, and
measures in one run:

(a) the old design: ``load_all_sequences`` + ``export_fasta`` to disk +
    ``gzip.open`` at its default level + ``upload_file``;
(b) this generator from S3 to S3, with a cold cache (the store fetched
    first) and with a warm one;
(c) ``bgzip -@<cores> -l 1`` on the same uncompressed FASTA, the
    compression-only floor (when bgzip is installed).

Each measurement runs in a fresh process, which reports its wall seconds
(the S3 client made beforehand, as a long-lived worker has it; the time to
make one is reported too),
peak RSS (its own ``VmHWM``, plus the export child's for the generator, as
they run side by side) and the bytes it wrote to local disk
(``/proc/self/io`` ``write_bytes``). Sizes are
compared with ``gzip -6`` of the same text. Run it with
``make bench SIZES="100 200 400"`` or
``python -m tests.benchmarks.generator --sizes 100 200 400``.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from fasta_drs.generator.publishing import import_fasta, publish_store
from tests.support import servers
from tests.support.genomes import write_synthetic_genome

BUCKET = "benchmark"


def peak_rss_mb():
    """This process's own peak resident memory (VmHWM).

    Not ``ru_maxrss``: a child started with vfork is charged its parent's
    pages until it execs, which inflates it.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk_write_bytes():
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def measure(kind, store_dir, digest, workdir):
    """Run one measurement in this process; return its figures."""
    from gtars.refget import RefgetStore

    from fasta_drs.generator import generate_fasta, s3

    # A worker makes its S3 client once, not per generation: make it before
    # the clock starts (its cost is reported on its own).
    client_started = time.perf_counter()
    s3.make_client()
    client_seconds = time.perf_counter() - client_started
    written_before = disk_write_bytes()
    started = time.perf_counter()
    if kind == "old":
        import gzip

        store = RefgetStore.open_local(store_dir)
        store.set_quiet(True)
        store.load_collection(digest)
        store.load_all_sequences()
        fasta = Path(workdir) / "old.fa"
        store.export_fasta(digest, str(fasta), None, 80)
        compressed = Path(workdir) / "old.fa.gz"
        with open(fasta, "rb") as source, gzip.open(compressed, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        boto3.client("s3").upload_file(str(compressed), BUCKET, f"old/{digest}.fa.gz")
        size = compressed.stat().st_size
        child_rss = 0.0
        fasta.unlink()
        compressed.unlink()
    else:
        manifest = generate_fasta(
            f"s3://{BUCKET}/store/",
            digest,
            f"s3://{BUCKET}/fasta/",
            cache_dir=Path(workdir) / "cache",
        )
        size = manifest["size"]
        child_rss = manifest["export_peak_rss_mb"]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "client_seconds": client_seconds,
        # The export child runs beside the generator: count both.
        "rss_mb": peak_rss_mb() + child_rss,
        "disk_bytes": disk_write_bytes() - written_before,
        "size": size,
    }


def run_measurement(kind, store_dir, digest, workdir):
    command = [
        sys.executable,
        "-m",
        "tests.benchmarks.generator",
        "--measure",
        kind,
        str(store_dir),
        digest,
        str(workdir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{kind} failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])


def time_command(command, output=None):
    started = time.perf_counter()
    with open(output or os.devnull, "wb") as sink:
        subprocess.run(command, stdout=sink, check=True)
    return time.perf_counter() - started


def bench_size(megabases, repeats, baseline_repeats, root, s3):
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{megabases}-", dir=root))
    fasta = workdir / "genome.fa"
    write_synthetic_genome(fasta, megabases)
    store_dir = workdir / "store"
    digest = import_fasta(store_dir, fasta, encoded=True)
    publish_store(store_dir, f"s3://{BUCKET}/store/")

    # The exact text all three compress, and gzip -6's size of it.
    from gtars.refget import RefgetStore

    store = RefgetStore.open_local(str(store_dir))
    store.set_quiet(True)
    store.load_collection(digest)
    store.load_all_sequences()
    text = workdir / "text.fa"
    store.export_fasta(digest, str(text), None, 80)
    del store
    text_bytes = text.stat().st_size
    gzip6 = workdir / "text.fa.gz"
    time_command(["gzip", "-6", "-c", str(text)], gzip6)
    gzip6_size = gzip6.stat().st_size
    gzip6.unlink()

    rows = {}
    rows["old"] = [
        run_measurement("old", store_dir, digest, workdir)
        for _ in range(baseline_repeats)
    ]
    cold, warm = [], []
    for _ in range(repeats):
        shutil.rmtree(workdir / "cache", ignore_errors=True)
        cold.append(run_measurement("new", store_dir, digest, workdir))
        warm.append(run_measurement("new", store_dir, digest, workdir))
    rows["new_cold"], rows["new_warm"] = cold, warm

    cores = len(os.sched_getaffinity(0))
    if shutil.which("bgzip"):
        floor = workdir / "floor.fa.gz"
        rows["bgzip"] = []
        for _ in range(repeats):
            seconds = time_command(
                ["bgzip", f"-@{cores}", "-l", "1", "-c", str(text)], floor
            )
            rows["bgzip"].append(
                {
                    "seconds": seconds,
                    "rss_mb": None,
                    "disk_bytes": None,
                    "size": floor.stat().st_size,
                }
            )
        floor.unlink()
    s3.delete_objects(
        Bucket=BUCKET,
        Delete={
            "Objects": [
                {"Key": f"fasta/{digest}.fa.gz"},
                {"Key": f"old/{digest}.fa.gz"},
            ]
        },
    )
    shutil.rmtree(workdir)
    return summarize(megabases, text_bytes, gzip6_size, rows)


def summarize(megabases, text_bytes, gzip6_size, rows):
    summary = {
        "megabases": megabases,
        "text_bytes": text_bytes,
        "gzip6_size": gzip6_size,
        "client_seconds": round(
            statistics.median(run["client_seconds"] for run in rows["new_warm"]), 3
        ),
    }
    for name, runs in rows.items():
        seconds = statistics.median(run["seconds"] for run in runs)
        rss = [run["rss_mb"] for run in runs if run["rss_mb"] is not None]
        disk = [run["disk_bytes"] for run in runs if run["disk_bytes"] is not None]
        summary[name] = {
            "runs": len(runs),
            "seconds": round(seconds, 3),
            "mb_per_second": round(text_bytes / 1e6 / seconds, 1),
            "rss_mb": round(max(rss), 1) if rss else None,
            "disk_mb": round(max(disk) / 1e6, 1) if disk else None,
            "size_vs_gzip6": round(runs[0]["size"] / gzip6_size, 3),
        }
    return summary


def render(results):
    lines = [
        "| genome | method | runs | wall s (median) | FASTA MB/s | peak RSS MB "
        "| local disk MB | size / gzip -6 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    labels = {
        "old": "(a) old design",
        "new_cold": "(b) generator, S3→S3, cold cache",
        "new_warm": "(b) generator, S3→S3, warm cache",
        "bgzip": "(c) bgzip -l 1 floor",
    }
    for result in results:
        for key, label in labels.items():
            if key not in result:
                continue
            row = result[key]
            disk = "-" if row["disk_mb"] is None else row["disk_mb"]
            lines.append(
                f"| {result['megabases']} Mb | {label} | {row['runs']} "
                f"| {row['seconds']} | {row['mb_per_second']} "
                f"| {row['rss_mb'] or '-'} | {disk} | {row['size_vs_gzip6']} |"
            )
    client = statistics.median(result["client_seconds"] for result in results)
    lines.append("")
    lines.append(
        f"Making the S3 client, once per process and not in (b): {client:.2f} s."
    )
    lines.append("")
    lines.append(
        "| genome | b/a speed-up (cold) | b/a (warm) | b/c time ratio (warm) |"
    )
    lines.append("|---|---|---|---|")
    for result in results:
        old = result["old"]["seconds"]
        cold = result["new_cold"]["seconds"]
        warm = result["new_warm"]["seconds"]
        floor = result.get("bgzip", {}).get("seconds")
        ratio = f"{warm / floor:.2f}" if floor else "-"
        lines.append(
            f"| {result['megabases']} Mb | {old / cold:.1f}x | {old / warm:.1f}x "
            f"| {ratio} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--baseline-repeats",
        type=int,
        default=1,
        help="runs of the old design (minutes each at 400 Mb; its time varies little)",
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.measure:
        kind, store_dir, digest, workdir = arguments.measure
        print(json.dumps(measure(kind, store_dir, digest, workdir)))
        return 0

    for name, value in servers.CREDENTIALS.items():
        os.environ.setdefault(name, value)
    moto = servers.start_moto()
    os.environ["AWS_ENDPOINT_URL"] = moto.url
    try:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        results = []
        for megabases in arguments.sizes:
            size = int(megabases) if megabases == int(megabases) else megabases
            print(f"benchmarking {size} Mb ...", file=sys.stderr, flush=True)
            results.append(
                bench_size(
                    size,
                    arguments.repeats,
                    arguments.baseline_repeats,
                    arguments.workdir,
                    s3,
                )
            )
    finally:
        moto.stop()
    print(render(results))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
