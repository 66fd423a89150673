"""Benchmark: DRS time to a usable URL, and the access endpoint under load.

Starts moto's S3 server, a Celery worker and the site behind gunicorn
(4 workers) on a PostgreSQL database of its own, then measures:

1. the seconds from the first request for a 5 Mb genome to a usable URL,
   for a client that sleeps as long as each ``Retry-After`` says (median
   of several genomes, each requested for the first time);
2. requests per second and latency percentiles of the access endpoint for
   a ready object under ``wrk``, beside the old design's endpoint, which
   asks S3 (HEAD) whether the object exists on every request.

Needs ``wrk`` (Debian package ``wrk``) and PostgreSQL. Run it with
``make bench-drs`` or ``python -m tests.benchmarks.drs``.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from fasta_drs.demo.stack import worker_command
from fasta_drs.generator.publishing import import_fasta, publish_store
from tests.support import servers
from tests.support.genomes import write_synthetic_genome
from tests.support.servers import fetch

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "drs-benchmark"
DATABASE = "fasta_drs_benchmark"


def time_to_url(base, digest):
    """Seconds from the first request to a URL that downloads the object."""
    url = f"{base}/ga4gh/drs/v1/objects/{digest}/access/s3"
    started = time.perf_counter()
    requests = 0
    while True:
        status, headers, body = fetch(url)
        requests += 1
        if status != 202:
            break
        time.sleep(int(headers["Retry-After"]))
    seconds = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{digest}: {status} {body[:200]!r}")
    download_status, _, data = fetch(json.loads(body)["url"])
    if download_status != 200 or not data.startswith(b"\x1f\x8b"):
        raise RuntimeError(f"{digest}: the URL did not download the object")
    return seconds, requests


def wrk(url, seconds, connections):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {}
    for label in ("50%", "99%"):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
        percentiles[label] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_second": rate,
        "p50_ms": percentiles["50%"],
        "p99_ms": percentiles["99%"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def start(name, command, environment, workdir):
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop)
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    return process, log


def stop(started):
    for process, _ in started:
        if process.poll() is None:
            process.terminate()
    for process, log in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genomes", type=int, default=5, help="first requests timed")
    parser.add_argument("--megabases", type=float, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run length")
    parser.add_argument("--connections", type=int, default=16)
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("This benchmark needs wrk: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="drs-bench-"))
    for name, value in servers.CREDENTIALS.items():
        os.environ.setdefault(name, value)
    moto = servers.start_moto(workdir / "moto.log")
    started = []
    try:
        environment = dict(
            os.environ,
            AWS_ENDPOINT_URL=moto.url,
            DJANGO_SETTINGS_MODULE="tests.benchmarks.settings",
            TEST_DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            CELERY_FILESYSTEM_DIR=str(workdir / "celery"),
            FASTA_DRS_STORE=f"s3://{BUCKET}/store/",
            FASTA_DRS_OUTPUT=f"s3://{BUCKET}/fasta/",
            FASTA_DRS_CACHE_DIR=str(workdir / "cache"),
        )
        os.environ.update(environment)
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-q",
                "-c",
                f"DROP DATABASE IF EXISTS {DATABASE}",
                "-c",
                f"CREATE DATABASE {DATABASE}",
            ],
            check=True,
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )

        # Genomes, each to be requested for the first time.
        s3 = boto3.client("s3", endpoint_url=moto.url)
        s3.create_bucket(Bucket=BUCKET)
        digests = []
        for number in range(arguments.genomes):
            fasta = workdir / f"genome{number}.fa"
            write_synthetic_genome(fasta, arguments.megabases, seed=100 + number)
            digests.append(import_fasta(workdir / "store", fasta))
        publish_store(workdir / "store", f"s3://{BUCKET}/store/", s3_client=s3)

        port = servers.free_port()
        started.append(
            start(
                "worker",
                worker_command(),
                environment,
                workdir,
            )
        )
        gunicorn = Path(sys.executable).with_name("gunicorn")
        started.append(
            start(
                "site",
                [
                    str(gunicorn),
                    "-w",
                    "4",
                    "-b",
                    f"127.0.0.1:{port}",
                    "seqcol_site.wsgi",
                ],
                environment,
                workdir,
            )
        )
        base = f"http://127.0.0.1:{port}"
        servers.wait_for_http(f"{base}/ga4gh/drs/v1/service-info", started[-1][0])
        time.sleep(3)  # let the worker connect to its broker

        timings = [time_to_url(base, digest) for digest in digests]
        seconds = [timing for timing, _ in timings]

        ready = digests[0]
        new = f"{base}/ga4gh/drs/v1/objects/{ready}/access/s3"
        old = f"{base}/old/objects/{ready}/access/s3"
        for url in (new, old):  # warm every worker's connections and caches
            wrk(url, 2, arguments.connections)
        loads = {
            "this site (no S3 request)": wrk(
                new, arguments.seconds, arguments.connections
            ),
            "old design (S3 HEAD per request)": wrk(
                old, arguments.seconds, arguments.connections
            ),
        }
    finally:
        stop(started)
        moto.stop()

    print(
        f"Time from first request to a usable URL, {arguments.megabases:g} Mb genome, "
        f"client honouring Retry-After ({len(seconds)} genomes):\n"
    )
    print("| median s | min s | max s | requests per genome |")
    print("|---|---|---|---|")
    print(
        f"| {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} "
        f"| {statistics.median(r for _, r in timings):g} |"
    )
    print(
        f"\nAccess endpoint of a ready object, gunicorn 4 workers, wrk "
        f"{arguments.connections} connections for {arguments.seconds} s:\n"
    )
    print("| endpoint | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    for name, load in loads.items():
        print(
            f"| {name} | {load['requests_per_second']:.0f} | {load['p50_ms']:.2f} "
            f"| {load['p99_ms']:.2f} | {load['errors']} |"
        )
    ratio = (
        loads["this site (no S3 request)"]["requests_per_second"]
        / loads["old design (S3 HEAD per request)"]["requests_per_second"]
    )
    print(f"\nThroughput ratio: {ratio:.1f}x")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
