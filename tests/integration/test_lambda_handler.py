"""The Lambda handler in-process against moto's S3 server.

The AWS Lambda service itself cannot run here; this exercises the real
handler code with a context object that behaves like Lambda's.
"""

import gzip
import json
import threading

import pytest
from gtars.refget import digest_fasta

from fasta_drs.generator import GenerationCancelled
from fasta_drs.generator.publishing import publish_store
from lambda_handler import handler
from tests.support.genomes import build_store, random_bases

pytestmark = pytest.mark.integration


class Context:
    aws_request_id = "request-1"

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


@pytest.fixture
def published(tmp_path, bucket, monkeypatch):
    monkeypatch.setattr(handler, "CACHE_DIR", str(tmp_path / "cache"))
    records = [(f"chr{i}", None, random_bases(400_000, i)) for i in range(1, 4)]
    digest = build_store(tmp_path, records)
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    return {
        "store": f"s3://{bucket}/store/",
        "collection_digest": digest,
        "output": f"s3://{bucket}/fasta/",
    }


def test_handler_generates_and_returns_the_result(published, s3_client, bucket):
    result = handler.handle(published, Context(remaining_ms=900_000))
    assert result["state"] == "ready"
    digest = published["collection_digest"]
    manifest = json.loads(
        s3_client.get_object(Bucket=bucket, Key=f"fasta/{digest}.json")["Body"].read()
    )
    assert manifest["sha256"] == result["sha256"]


def test_near_the_deadline_it_stops_cleanly_and_raises_for_a_retry(
    published, s3_client, bucket
):
    with pytest.raises(GenerationCancelled):
        handler.handle(published, Context(remaining_ms=5_000))
    digest = published["collection_digest"]
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="fasta/").get(
        "Contents", []
    )
    assert [item["Key"] for item in listed] == [f"fasta/{digest}.status.json"]
    assert not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    status = json.loads(
        s3_client.get_object(Bucket=bucket, Key=f"fasta/{digest}.status.json")[
            "Body"
        ].read()
    )
    assert status["error"]["retriable"] is True


def test_permanent_failures_are_returned_not_raised(published):
    event = dict(published, collection_digest="Z" * 32)
    result = handler.handle(event, Context(remaining_ms=900_000))
    assert result["state"] == "failed"
    assert result["code"] == "collection_not_found"


@pytest.mark.parametrize(
    "event",
    [None, {}, {"store": "s3://b/x/", "collection_digest": "d"}, {"line_width": "80"}],
)
def test_malformed_events_are_rejected(event):
    result = handler.handle(event, Context(remaining_ms=900_000))
    assert result["state"] == "failed"
    assert result["code"] == "invalid_options"


def test_repeated_deliveries_of_one_event_leave_one_correct_object(
    published, s3_client, bucket, tmp_path
):
    """Lambda may deliver an asynchronous event more than once, at the same
    time or later."""
    results = []

    def deliver():
        results.append(handler.handle(dict(published), Context(remaining_ms=900_000)))

    deliveries = [threading.Thread(target=deliver) for _ in range(3)]
    for delivery in deliveries:
        delivery.start()
    for delivery in deliveries:
        delivery.join()
    deliver()  # and once more after both finished, as a retry would

    assert [result["state"] for result in results] == ["ready"] * 4
    assert len({result["sha256"] for result in results}) == 1
    digest = published["collection_digest"]
    assert not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    keys = sorted(
        item["Key"]
        for item in s3_client.list_objects_v2(Bucket=bucket, Prefix="fasta/")[
            "Contents"
        ]
    )
    assert keys == [
        f"fasta/{digest}.{suffix}"
        for suffix in ("fa.gz", "fa.gz.fai", "fa.gz.gzi", "json", "status.json")
    ]
    body = s3_client.get_object(Bucket=bucket, Key=f"fasta/{digest}.fa.gz")["Body"]
    plain = tmp_path / "downloaded.fa"
    plain.write_bytes(gzip.decompress(body.read()))
    assert digest_fasta(str(plain)).digest == digest
