"""Run the whole site on one machine: ``python -m fasta_drs.demo.stack``.

Starts moto's S3 server as the embedded S3, imports the bundled demo
genome into a RefgetStore and publishes it there, migrates the SQLite
database, then starts a Celery worker (on the ``filesystem://`` broker,
which needs no server) and the Django server on 127.0.0.1:$PORT (8000 by
default). It prints the URLs and a walk-through with curl, and stops every
process it started on Ctrl-C (or SIGTERM).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from fasta_drs.demo import DEMO_FASTA

ROOT = Path(__file__).resolve().parents[2]
# Everything the demo writes (store, database, queue, logs) goes here.
WORK = Path(os.environ.get("FASTA_DRS_DEMO_DIR", ROOT / "var" / "demo"))
BUCKET = "seqcol-demo"


def worker_command(python=sys.executable):
    """The command line of a Celery worker for this site."""
    return [
        *(python, "-m", "celery", "-A", "seqcol_site", "worker"),
        *("--pool", "solo", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle"),
    ]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url, process, name, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"{name} exited (status {process.returncode}); see {WORK}/*.log"
            )
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not start within {timeout:.0f} s; see {WORK}/*.log")


class Stack:
    """The processes of the demo, stopped together."""

    def __init__(self):
        self.processes = []

    def start(self, name, command, environment):
        log = open(WORK / f"{name}.log", "wb")  # noqa: SIM115 (open while it runs)
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append((name, process, log))
        return process

    def stop(self):
        for _, process, _ in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process, log in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        self.processes.clear()


def environment_for(s3_url, port):
    environment = dict(os.environ)
    environment.update(
        {
            "DJANGO_DEBUG": "true",
            "AWS_ENDPOINT_URL": s3_url,
            "AWS_ACCESS_KEY_ID": environment.get("AWS_ACCESS_KEY_ID", "demo"),
            "AWS_SECRET_ACCESS_KEY": environment.get("AWS_SECRET_ACCESS_KEY", "demo"),
            "AWS_DEFAULT_REGION": environment.get("AWS_DEFAULT_REGION", "us-east-1"),
            "FASTA_DRS_STORE": f"s3://{BUCKET}/store/",
            "FASTA_DRS_OUTPUT": f"s3://{BUCKET}/fasta/",
            "FASTA_DRS_HOSTNAME": f"127.0.0.1:{port}",
            "DATABASE_URL": f"sqlite:///{WORK / 'db.sqlite3'}",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_FILESYSTEM_DIR": str(WORK / "celery"),
            "FASTA_DRS_CACHE_DIR": str(WORK / "cache"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


def publish_demo(environment):
    """Import the demo genome, publish its store; return its digest."""
    import boto3

    from fasta_drs.generator.publishing import import_fasta, publish_store

    store = WORK / "store"
    shutil.rmtree(store, ignore_errors=True)
    digest = import_fasta(store, DEMO_FASTA, collection_alias="demo:genome")
    client = boto3.client(
        "s3",
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        region_name=environment["AWS_DEFAULT_REGION"],
    )
    client.create_bucket(Bucket=BUCKET)
    publish_store(store, f"s3://{BUCKET}/store/", s3_client=client)
    return digest


def walkthrough(base, digest):
    drs = f"{base}/ga4gh/drs/v1"
    seqcol = f"{base}/seqcol"
    return f"""
The site is up. Demo genome: {DEMO_FASTA.name}, collection digest {digest}

  seqcol collection {seqcol}/collection/{digest}
  seqcol API        {seqcol}/service-info
  DRS service info  {drs}/service-info
  DRS object        {drs}/objects/{digest}
  access URL        {drs}/objects/{digest}/access/s3
  admin             {base}/admin/

Walk-through:
  # 0. what the genome is: its names, lengths and sequence digests
  curl -s {seqcol}/collection/{digest}
  # 1. the first request starts the generation: 202 Accepted + Retry-After
  curl -i {drs}/objects/{digest}/access/s3
  # 2. after Retry-After seconds: 200 and a presigned URL
  curl -s {drs}/objects/{digest}/access/s3
  # 3. download it
  curl -s -o demo.fa.gz "$(curl -s {drs}/objects/{digest}/access/s3 \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')"
  # 4. read a region (samtools fetches the .fai and .gzi beside it)
  for index in fai gzi; do curl -s -o demo.fa.gz.$index "$(curl -s \\
      {drs}/objects/{digest}.$index/access/s3 \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')"; done
  samtools faidx demo.fa.gz chrB:14001-14060

Press Ctrl-C to stop everything.
"""


def main():
    port = int(os.environ.get("PORT", "8000"))
    WORK.mkdir(parents=True, exist_ok=True)
    stack = Stack()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        s3_port = free_port()
        s3_url = f"http://127.0.0.1:{s3_port}"
        environment = environment_for(s3_url, port)
        moto = Path(sys.executable).with_name("moto_server")
        s3 = stack.start(
            "s3", [str(moto), "-H", "127.0.0.1", "-p", str(s3_port)], environment
        )
        wait_until_up(f"{s3_url}/moto-api/", s3, "the S3 server")
        os.environ.update(environment)
        digest = publish_demo(environment)

        python = sys.executable
        subprocess.run(
            [python, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        stack.start(
            "worker",
            worker_command(python),
            environment,
        )
        site = stack.start(
            "site",
            [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            environment,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ga4gh/drs/v1/service-info", site, "the site")
        print(walkthrough(base, digest), flush=True)
        while all(process.poll() is None for _, process, _ in stack.processes):
            time.sleep(0.5)
        print("A process of the stack stopped; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
