"""Benchmark: seqcol level-2 lookups as the store grows from 10 to 1,000
collections, beside refget's own seqcol server on the same store.

For each size it builds a store of synthetic collections (25 sequences
each, as a small assembly has), publishes it to moto's S3 server, and
starts this site (gunicorn, 2 workers, reading the store from S3) and
refget's FastAPI server (uvicorn, reading the same store from a local
directory, as it must: it cannot read a private bucket). Then it times:

1. the seconds from starting the server to its first answer, and the
   first lookup after that (this site reads the store's indexes on its
   first request, refget's server loads every collection before it
   answers);
2. the first level-2 lookup of each of up to 100 collections (this site
   fetches each collection's file from S3 on first use);
3. repeat lookups of the same collections, three rounds;
4. requests per second for one collection under ``wrk``.

Run it with ``make bench-seqcol`` or ``python -m tests.benchmarks.seqcol``.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3
from gtars.refget import RefgetStore

from fasta_drs.generator.publishing import publish_store
from tests.benchmarks.drs import start, stop, wrk
from tests.support import servers
from tests.support.servers import fetch

BUCKET = "seqcol-benchmark"
SEQUENCES_PER_COLLECTION = 25
SAMPLE = 100

REFERENCE_SERVER = """
import sys, uvicorn
from refget.seqcolapi import create_seqcol_app
app = create_seqcol_app(store_path=sys.argv[1])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def build_store(directory, collections, seed):
    """A Raw store of ``collections`` random collections; their digests."""
    rng = random.Random(seed)
    fastas = directory / "fasta"
    fastas.mkdir(parents=True)
    paths = []
    for number in range(collections):
        path = fastas / f"assembly{number:05d}.fa"
        with open(path, "w") as handle:
            for index in range(SEQUENCES_PER_COLLECTION):
                length = rng.randint(200, 4000)
                bases = "".join(rng.choices("ACGT", k=length))
                handle.write(f">chr{index + 1}\n{bases}\n")
        paths.append(str(path))
    store = RefgetStore.on_disk(str(directory / "store"))
    store.set_quiet(True)
    store.disable_encoding()
    report = store.add_sequence_collections_from_fastas(paths)
    return [metadata.digest for metadata, _ in report.collections]


def timed_get(url):
    started = time.perf_counter()
    status, _, body = fetch(url)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"{url}: {status} {body[:200]!r}")
    return elapsed, json.loads(body)


def measure(base, digests, seconds, connections, started):
    """Time one server's lookups of ``digests``; milliseconds unless named."""
    ready = time.perf_counter() - started
    first, _ = timed_get(f"{base}/collection/{digests[0]}")
    cold = [timed_get(f"{base}/collection/{digest}")[0] for digest in digests[1:]]
    warm = [
        timed_get(f"{base}/collection/{digest}")[0]
        for _ in range(3)
        for digest in digests
    ]
    load = wrk(f"{base}/collection/{digests[-1]}", seconds, connections)
    return {
        "start_to_answer_s": ready,
        "first_request_ms": first,
        "cold_median_ms": statistics.median(cold) if cold else first,
        "warm_median_ms": statistics.median(warm),
        "warm_p99_ms": statistics.quantiles(warm, n=100)[98],
        "requests_per_second": load["requests_per_second"],
        "wrk_p99_ms": load["p99_ms"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--seconds", type=int, default=5, help="wrk run length")
    parser.add_argument("--connections", type=int, default=8)
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("This benchmark needs wrk: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="seqcol-bench-"))
    for name, value in servers.CREDENTIALS.items():
        os.environ.setdefault(name, value)
    moto = servers.start_moto(workdir / "moto.log")
    s3 = boto3.client("s3", endpoint_url=moto.url)
    s3.create_bucket(Bucket=BUCKET)
    results = {}
    try:
        for size in arguments.sizes:
            directory = workdir / f"store-{size}"
            digests = build_store(directory, size, seed=size)
            store_url = f"s3://{BUCKET}/store-{size}/"
            publish_store(directory / "store", store_url, s3_client=s3)
            sample = random.Random(0).sample(digests, min(size, SAMPLE))
            results[size] = {
                "this site": run_site(
                    workdir, size, store_url, moto.url, sample, arguments
                ),
                "refget server": run_reference(
                    workdir, directory / "store", sample, arguments
                ),
            }
            print(json.dumps({"collections": size, **results[size]}), flush=True)
    finally:
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)


def run_site(workdir, size, store_url, moto_url, sample, arguments):
    environment = dict(
        os.environ,
        AWS_ENDPOINT_URL=moto_url,
        DJANGO_SETTINGS_MODULE="seqcol_site.settings",
        DJANGO_SECRET_KEY="benchmark-only",
        DATABASE_URL=f"sqlite:///{workdir}/site.sqlite3",
        FASTA_DRS_STORE=store_url,
        FASTA_DRS_CACHE_DIR=str(workdir / f"cache-{size}"),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    port = servers.free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "seqcol_site.wsgi"]
    launched = time.perf_counter()
    started = [start(f"site-{size}", command, environment, workdir)]
    try:
        base = f"http://127.0.0.1:{port}/seqcol"
        servers.wait_for_http(f"http://127.0.0.1:{port}/ga4gh/drs/v1/", started[0][0])
        return measure(base, sample, arguments.seconds, arguments.connections, launched)
    finally:
        stop(started)


def run_reference(workdir, store_path, sample, arguments):
    port = servers.free_port()
    command = [sys.executable, "-c", REFERENCE_SERVER, str(store_path), str(port)]
    launched = time.perf_counter()
    started = [start(f"refget-{port}", command, dict(os.environ), workdir)]
    try:
        base = f"http://127.0.0.1:{port}"
        servers.wait_for_http(f"{base}/service-info", started[0][0], timeout=120)
        return measure(base, sample, arguments.seconds, arguments.connections, launched)
    finally:
        stop(started)


def print_table(results):
    print()
    print(
        "| collections | server | start to first answer | first request "
        "| first lookup (median) | repeat lookup (median, p99) "
        "| requests/s (wrk) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size, servers_results in results.items():
        for name, figures in servers_results.items():
            print(
                f"| {size} | {name} | {figures['start_to_answer_s']:.2f} s "
                f"| {figures['first_request_ms']:.1f} ms "
                f"| {figures['cold_median_ms']:.2f} ms "
                f"| {figures['warm_median_ms']:.2f} ms, "
                f"{figures['warm_p99_ms']:.2f} ms "
                f"| {figures['requests_per_second']:.0f} |"
            )


if __name__ == "__main__":
    main()
