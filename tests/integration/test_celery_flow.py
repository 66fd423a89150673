"""The whole flow: a live site, a real Celery worker process, moto's S3.

No eager mode: the task goes through the broker to a worker process,
which runs the shared generator; the site learns completion from S3.
"""

import gzip
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from gtars.refget import digest_fasta

from fasta_drs.demo.stack import worker_command
from fasta_drs.generator.publishing import publish_store
from seqcol_site.celery import app as celery_app
from tests.support.genomes import build_store, random_bases
from tests.support.servers import fetch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["filesystem", "redis"])
def broker(request):
    """The broker both the site and the worker use: embedded, then Redis."""
    url = "filesystem://" if request.param == "filesystem" else REDIS_URL
    previous = celery_app.conf.broker_url
    _use_broker(url)
    yield url
    _use_broker(previous)


def _use_broker(url):
    """Point the site's Celery app at ``url``, dropping cached connections."""
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(moto_server, broker, tmp_path):
    """A Celery worker process on ``broker``."""
    environment = dict(
        os.environ, DJANGO_SETTINGS_MODULE="tests.settings", CELERY_BROKER_URL=broker
    )
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        worker_command(),
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def test_first_request_to_download_through_a_real_worker(
    live_server, worker, settings, bucket, tmp_path
):
    digest = build_store(
        tmp_path, [(f"chr{i}", None, random_bases(200_000, i)) for i in (1, 2)]
    )
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "site-cache"),
        "BACKEND": "celery",
    }
    base = f"{live_server.url}/ga4gh/drs/v1"

    status, _, body = fetch(f"{base}/objects/{'N' * 32}/access/s3")
    assert status == 404 and json.loads(body)["status_code"] == 404

    url = f"{base}/objects/{digest}/access/s3"
    waits = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status, headers, body = fetch(url)
        assert headers["Content-Type"].startswith("application/json")
        if status != 202:
            break
        waits.append(int(headers["Retry-After"]))
        time.sleep(waits[-1])
    assert status == 200, body
    assert waits and all(1 <= wait <= 60 for wait in waits)

    status, _, compressed = fetch(json.loads(body)["url"])
    assert status == 200
    plain = tmp_path / "downloaded.fa"
    plain.write_bytes(gzip.decompress(compressed))
    assert digest_fasta(str(plain)).digest == digest


def test_fifty_concurrent_first_http_requests_dispatch_one_generation(
    live_server, settings, bucket, tmp_path, monkeypatch
):
    """On PostgreSQL, through the live server's own threads."""
    import threading

    from fasta_drs.drs import objects
    from fasta_drs.models import FastaRequest

    digest = build_store(tmp_path, [("chr1", None, random_bases(10_000, 5))])
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "site-cache"),
    }
    dispatched = []

    class Recording:
        name = "celery"

        def dispatch(self, collection_digest):
            dispatched.append(collection_digest)

    monkeypatch.setattr(objects, "get_dispatcher", lambda: Recording())
    url = f"{live_server.url}/ga4gh/drs/v1/objects/{digest}"
    barrier = threading.Barrier(50)
    statuses = []

    def ask():
        barrier.wait()
        statuses.append(fetch(url)[0])

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [202] * 50
    assert dispatched == [digest]
    assert FastaRequest.objects.get().request_count == 50
