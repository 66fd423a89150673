"""The DRS API against moto's S3 server, validated against the DRS spec.

Dispatch is recorded rather than queued; `run_worker` then runs the real
Celery task body with each recorded event, so the site learns completion
from the objects in S3 exactly as it does in production.
"""

import gzip
import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from gtars.refget import digest_fasta

from fasta_drs import registry
from fasta_drs.dispatch import event_for
from fasta_drs.drs import objects
from fasta_drs.generator.publishing import publish_store
from fasta_drs.models import FastaRequest
from fasta_drs.services import DispatchUnavailable
from fasta_drs.tasks import generate
from tests.support import drs_spec
from tests.support.genomes import build_store, random_bases

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BASE = "/ga4gh/drs/v1"


class RecordingDispatcher:
    name = "celery"

    def __init__(self):
        self.events = []
        self.refuse = False

    def dispatch(self, collection_digest):
        if self.refuse:
            raise DispatchUnavailable("queue is full", retry_after_seconds=7)
        self.events.append(event_for(collection_digest))


@pytest.fixture
def site(tmp_path, bucket, settings, monkeypatch):
    """A registry over an S3 store of two genomes, and its dispatcher."""
    good = build_store(
        tmp_path,
        [("chr1", "first", random_bases(50_000, 1)), ("chr2", None, "ACGT" * 900)],
        name="good.fa",
    )
    broken = build_store(
        tmp_path / "enc", [("bad", None, "ACGU" * 300)], encoded=True, name="bad.fa"
    )
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    publish_store(tmp_path / "enc" / "store", f"s3://{bucket}/broken/")
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "cache"),
        "HOSTNAME": "drs.example.org",
        "MAX_BULK": 3,
    }
    dispatcher = RecordingDispatcher()
    monkeypatch.setattr(objects, "get_dispatcher", lambda: dispatcher)
    return {"good": good, "broken": broken, "dispatcher": dispatcher, "bucket": bucket}


def run_worker(dispatcher):
    """Run every dispatched generation with the real task body."""
    while dispatcher.events:
        generate.run(dispatcher.events.pop(0))


def get(client, path, template):
    response = client.get(BASE + path)
    drs_spec.validate(template, "get", response)
    return response


def test_unknown_digest_is_404_and_dispatches_nothing(client, site):
    response = get(client, f"/objects/{'Q' * 32}", "/objects/{object_id}")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert not site["dispatcher"].events
    assert not FastaRequest.objects.exists()


def test_first_request_is_202_with_retry_after_and_one_dispatch(client, site):
    digest = site["good"]
    first = get(client, f"/objects/{digest}", "/objects/{object_id}")
    assert first.status_code == 202
    assert 1 <= int(first["Retry-After"]) <= 60
    assert first.json()["state"] == "queued"
    second = get(
        client,
        f"/objects/{digest}/access/s3",
        "/objects/{object_id}/access/{access_id}",
    )
    assert second.status_code == 202
    assert len(site["dispatcher"].events) == 1
    assert FastaRequest.objects.get().request_count == 2


def test_ready_object_is_a_full_drs_object_with_a_working_url(
    client, site, s3_client, tmp_path
):
    digest = site["good"]
    get(client, f"/objects/{digest}", "/objects/{object_id}")
    run_worker(site["dispatcher"])

    drs_object = get(client, f"/objects/{digest}", "/objects/{object_id}").json()
    stored = s3_client.get_object(Bucket=site["bucket"], Key=f"fasta/{digest}.fa.gz")[
        "Body"
    ].read()
    manifest = json.loads(
        s3_client.get_object(Bucket=site["bucket"], Key=f"fasta/{digest}.json")[
            "Body"
        ].read()
    )
    assert drs_object["id"] == digest
    assert drs_object["self_uri"] == f"drs://drs.example.org/{digest}"
    assert drs_object["size"] == len(stored)
    assert {c["type"]: c["checksum"] for c in drs_object["checksums"]} == {
        "sha-256": manifest["sha256"],
        "md5": manifest["md5"],
    }
    assert drs_object["mime_type"] == "application/gzip"
    assert drs_object["access_methods"] == [
        {"type": "s3", "access_id": "s3", "available": True}
    ]

    access = get(
        client,
        f"/objects/{digest}/access/s3",
        "/objects/{object_id}/access/{access_id}",
    )
    with urllib.request.urlopen(access.json()["url"]) as reply:
        downloaded = reply.read()
    assert downloaded == stored
    plain = tmp_path / "downloaded.fa"
    plain.write_bytes(gzip.decompress(downloaded))
    assert digest_fasta(str(plain)).digest == digest


def test_requests_for_a_ready_object_are_counted_without_a_write_each(
    client, site, monkeypatch
):
    digest = site["good"]
    monkeypatch.setattr(objects._ReadyCache, "SECONDS", 3600.0)
    client.get(f"{BASE}/objects/{digest}")
    run_worker(site["dispatcher"])
    client.get(f"{BASE}/objects/{digest}")  # learns ready
    for _ in range(7):
        assert client.get(f"{BASE}/objects/{digest}").status_code == 200
    assert FastaRequest.objects.get().request_count == 2
    monkeypatch.setattr(objects._ReadyCache, "SECONDS", 0.0)
    client.get(f"{BASE}/objects/{digest}")
    assert FastaRequest.objects.get().request_count == 2 + 7 + 1


def test_ready_objects_cost_no_s3_request(client, site, monkeypatch):
    digest = site["good"]
    get(client, f"/objects/{digest}", "/objects/{object_id}")
    run_worker(site["dispatcher"])
    get(client, f"/objects/{digest}", "/objects/{object_id}")  # learns ready

    from fasta_drs.outputs import get_outputs

    outputs = get_outputs()
    calls = []
    monkeypatch.setattr(outputs.output, "get", lambda name: calls.append(name))
    monkeypatch.setattr(outputs, "exists", lambda digest: calls.append(digest))
    for _ in range(5):
        assert client.get(f"{BASE}/objects/{digest}").status_code == 200
    assert calls == []


def test_indexes_are_objects_of_their_own(client, site):
    digest = site["good"]
    get(client, f"/objects/{digest}.fai", "/objects/{object_id}")
    run_worker(site["dispatcher"])
    fai = get(client, f"/objects/{digest}.fai", "/objects/{object_id}").json()
    gzi = get(client, f"/objects/{digest}.gzi", "/objects/{object_id}").json()
    with urllib.request.urlopen(
        client.get(f"{BASE}/objects/{digest}.fai/access/s3").json()["url"]
    ) as reply:
        text = reply.read()
    assert fai["size"] == len(text)
    assert text.decode().startswith("chr1\t50000\t")
    assert gzi["name"] == f"{digest}.fa.gz.gzi"


def test_older_clients_path_serves_the_same_views(client, site):
    digest = site["good"]
    client.get(f"/fasta/objects/{digest}")
    run_worker(site["dispatcher"])
    response = client.get(f"/fasta/objects/{digest}/access/s3")
    assert response.status_code == 200
    assert response.json()["url"].startswith("http")


def test_service_info_follows_the_spec_and_counts_ready_objects(client, site):
    digest = site["good"]
    info = get(client, "/service-info", "/service-info").json()
    assert info["drs"]["objectCount"] == 0
    client.get(f"{BASE}/objects/{digest}")
    run_worker(site["dispatcher"])
    client.get(f"{BASE}/objects/{digest}")
    info = get(client, "/service-info", "/service-info").json()
    assert info["type"]["artifact"] == "drs"
    assert info["maxBulkRequestLength"] == info["drs"]["maxBulkRequestLength"] == 3
    assert info["drs"]["objectCount"] == 1
    assert info["drs"]["totalObjectSize"] == FastaRequest.objects.get().size


def test_permanent_failure_answers_500_with_the_reason(client, site, settings):
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{site['bucket']}/broken/",
    }
    digest = site["broken"]
    get(client, f"/objects/{digest}", "/objects/{object_id}")
    run_worker(site["dispatcher"])
    response = get(client, f"/objects/{digest}", "/objects/{object_id}")
    assert response.status_code == 500
    assert "digest" in response.json()["msg"]
    assert FastaRequest.objects.get().error_code == "verification_failed"
    assert not site["dispatcher"].events  # permanent: no automatic retry


def test_retriable_failure_is_retried_after_its_backoff(client, site):
    digest = site["good"]
    get(client, f"/objects/{digest}", "/objects/{object_id}")
    event = site["dispatcher"].events.pop()
    generate.run(
        {**event, "store": f"s3://{site['bucket']}/missing/"}
    )  # store unavailable
    waiting = get(client, f"/objects/{digest}", "/objects/{object_id}")
    assert waiting.status_code == 202
    assert int(waiting["Retry-After"]) >= 25
    row = FastaRequest.objects.get()
    assert (row.state, row.error_code) == ("failed", "store_unavailable")

    FastaRequest.objects.update(retry_after=timezone.now() - timedelta(seconds=1))
    client.get(f"{BASE}/objects/{digest}")
    assert len(site["dispatcher"].events) == 1
    run_worker(site["dispatcher"])
    assert client.get(f"{BASE}/objects/{digest}").status_code == 200


def test_refused_dispatch_is_503_and_leaves_nothing_running(client, site):
    site["dispatcher"].refuse = True
    response = client.get(f"{BASE}/objects/{site['good']}")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json()["status_code"] == 503
    row = FastaRequest.objects.get()
    assert (row.state, row.attempts) == ("queued", 0)


def test_an_expired_object_is_noticed_and_generated_again(client, site, s3_client):
    digest = site["good"]
    client.get(f"{BASE}/objects/{digest}")
    run_worker(site["dispatcher"])
    assert client.get(f"{BASE}/objects/{digest}").status_code == 200
    s3_client.delete_object(Bucket=site["bucket"], Key=f"fasta/{digest}.fa.gz")
    FastaRequest.objects.update(verified_at=timezone.now() - timedelta(hours=1))
    objects.forget_ready(digest)  # as if this process had not served it lately

    response = client.get(f"{BASE}/objects/{digest}")
    assert response.status_code == 202
    assert len(site["dispatcher"].events) == 1


def test_bulk_requests_resolve_and_refuse_oversized_lists(client, site):
    digest = site["good"]
    body = {"bulk_object_ids": [digest, f"{digest}.fai", "Z" * 32]}
    pending = client.post(f"{BASE}/objects", body, content_type="application/json")
    drs_spec.validate("/objects", "post", pending)
    assert pending.status_code == 202
    run_worker(site["dispatcher"])

    done = client.post(f"{BASE}/objects", body, content_type="application/json")
    drs_spec.validate("/objects", "post", done)
    summary = done.json()["summary"]
    assert (summary["requested"], summary["resolved"], summary["unresolved"]) == (
        3,
        2,
        1,
    )
    assert done.json()["unresolved_drs_objects"] == [
        {"error_code": 404, "object_ids": ["Z" * 32]}
    ]

    access = client.post(
        f"{BASE}/objects/access",
        {
            "bulk_object_access_ids": [
                {"bulk_object_id": digest, "bulk_access_ids": ["s3"]}
            ]
        },
        content_type="application/json",
    )
    drs_spec.validate("/objects/access", "post", access)
    assert (
        access.json()["resolved_drs_object_access_urls"][0]["drs_object_id"] == digest
    )

    too_many = client.post(
        f"{BASE}/objects",
        {"bulk_object_ids": [digest] * 4},
        content_type="application/json",
    )
    drs_spec.validate("/objects", "post", too_many)
    assert too_many.status_code == 413


def test_options_reports_no_authorization_needed(client, site):
    response = client.options(f"{BASE}/objects/{site['good']}")
    drs_spec.validate("/objects/{object_id}", "options", response)
    assert response.json()["supported_types"] == ["None"]
    assert client.options(f"{BASE}/objects/{'Z' * 32}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/objects/not-a-digest!",
        "/objects/..%2F..%2Fstore%2Frgstore.json",
        "/objects/%2E%2E",
        "/objects/" + "A" * 5000,
        "/objects/{good}/access/https",
        "/objects/{good}/access/..%2F..",
        "/objects/{good}.json",
        "/objects/{good}.status.json/access/s3",
        "/nothing/here",
    ],
)
def test_bad_paths_get_drs_errors_and_touch_no_other_key(client, site, s3_client, path):
    response = client.get(BASE + path.format(good=site["good"]))
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status_code"] == response.status_code
    keys = [
        item["Key"]
        for item in s3_client.list_objects_v2(Bucket=site["bucket"]).get("Contents", [])
    ]
    assert all(key.startswith(("store/", "broken/", "fasta/")) for key in keys)
    assert not site["dispatcher"].events


def test_wrong_content_type_and_bad_json_are_drs_errors(client, site):
    wrong = client.post(
        f"{BASE}/objects", "ids=1", content_type="application/x-www-form-urlencoded"
    )
    assert wrong.status_code == 415
    assert wrong.json() == {"msg": wrong.json()["msg"], "status_code": 415}
    broken = client.post(
        f"{BASE}/objects", "{not json", content_type="application/json"
    )
    assert broken.status_code == 400
    assert broken.json()["status_code"] == 400
    listed = client.post(f"{BASE}/objects", [1, 2], content_type="application/json")
    assert listed.status_code == 400


def test_registry_notices_a_changed_store(client, site, tmp_path, bucket):
    late = build_store(tmp_path / "late", [("x", None, random_bases(900, 9))])
    assert client.get(f"{BASE}/objects/{late}").status_code == 404
    publish_store(tmp_path / "late" / "store", f"s3://{bucket}/store/")
    registry.get_registry().refresh()
    assert client.get(f"{BASE}/objects/{late}").status_code == 202


def test_site_serves_an_openapi_schema_of_its_api(client, site):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        f"{BASE}/service-info",
        f"{BASE}/objects/{{object_id}}",
        f"{BASE}/objects/{{object_id}}/access/{{access_id}}",
    } <= paths
    assert "/fasta/" in schema["info"]["description"]
