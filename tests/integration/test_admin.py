"""The operators' admin: list, summary, detail, actions and pages."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from fasta_drs import admin as fasta_admin
from fasta_drs.models import FastaRequest
from tests.integration.test_drs_api import BASE, run_worker, site

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
__all__ = ["site"]  # the fixture, shared with the DRS tests

CHANGELIST = "/admin/fasta_drs/fastarequest/"


@pytest.fixture
def dispatcher(site, monkeypatch):
    monkeypatch.setattr(fasta_admin, "get_dispatcher", lambda: site["dispatcher"])
    return site["dispatcher"]


def ready_row(client, site):
    digest = site["good"]
    client.get(f"{BASE}/objects/{digest}")
    run_worker(site["dispatcher"])
    client.get(f"{BASE}/objects/{digest}")
    return FastaRequest.objects.get(collection_digest=digest)


def test_admin_is_for_staff_only(client, site):
    for path in (CHANGELIST, f"{CHANGELIST}progress/", f"{CHANGELIST}collections/"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_list_shows_badges_progress_and_a_summary(
    admin_client, client, site, dispatcher
):
    row = ready_row(client, site)
    FastaRequest.objects.create(
        collection_digest="R" * 32, state="running", progress=0.42, attempts=1
    )
    FastaRequest.objects.create(
        collection_digest="F" * 32, state="failed", error_code="verification_failed"
    )
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'data-state="ready"' in page and 'data-state="failed"' in page
    assert '<progress class="generation"' in page and "42%" in page
    assert "1</strong> generated in the last day" in page
    assert f"{row.size / 1e6:,.1f} MB" in page
    filtered = admin_client.get(f"{CHANGELIST}?state__exact=failed").content.decode()
    assert "F" * 32 in filtered and "R" * 32 not in filtered


def test_search_finds_rows_by_digest_prefix_and_by_alias(
    admin_client, client, site, settings, bucket, tmp_path
):
    from fasta_drs.generator.publishing import import_fasta, publish_store
    from fasta_drs.registry import get_registry
    from tests.support.genomes import random_bases, write_fasta

    fasta = write_fasta(tmp_path / "aliased.fa", [("z", None, random_bases(800, 8))])
    digest = import_fasta(tmp_path / "store", fasta, collection_alias="ucsc:demoAlias")
    publish_store(tmp_path / "store", f"s3://{bucket}/store/")
    get_registry().refresh()
    FastaRequest.objects.create(collection_digest=digest)
    FastaRequest.objects.create(collection_digest="Q" * 32)
    by_alias = admin_client.get(f"{CHANGELIST}?q=ucsc:demoAlias").content.decode()
    assert digest in by_alias and "Q" * 32 not in by_alias
    by_digest = admin_client.get(f"{CHANGELIST}?q={digest[:10]}").content.decode()
    assert digest in by_digest


def test_retry_starts_a_new_attempt_and_is_logged(admin_client, site, dispatcher):
    row = FastaRequest.objects.create(
        collection_digest=site["good"], state="failed", attempts=3, error_code="x"
    )
    response = admin_client.post(
        CHANGELIST,
        {"action": "retry_selected", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "Started 1 new attempt" in response.content.decode()
    assert len(dispatcher.events) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("queued", 1)
    entry = LogEntry.objects.get()
    assert entry.change_message == "retried the generation"
    assert entry.user.is_superuser


def test_invalidate_asks_first_then_deletes_the_objects(
    admin_client, client, site, dispatcher, s3_client
):
    row = ready_row(client, site)
    key = f"fasta/{row.collection_digest}.fa.gz"
    asked = admin_client.post(
        CHANGELIST, {"action": "invalidate_selected", "_selected_action": [row.pk]}
    )
    assert "Are you sure you want to invalidate" in asked.content.decode()
    assert s3_client.head_object(Bucket=site["bucket"], Key=key)

    done = admin_client.post(
        CHANGELIST,
        {
            "action": "invalidate_selected",
            "_selected_action": [row.pk],
            "confirmed": "yes",
        },
        follow=True,
    )
    assert "Invalidated 1 object" in done.content.decode()
    listed = s3_client.list_objects_v2(Bucket=site["bucket"], Prefix="fasta/")
    assert not listed.get("Contents")
    row.refresh_from_db()
    assert (row.state, row.attempts, row.size) == ("queued", 0, None)
    assert client.get(f"{BASE}/objects/{row.collection_digest}").status_code == 202


def test_regenerate_deletes_and_dispatches_after_confirmation(
    admin_client, client, site, dispatcher
):
    row = ready_row(client, site)
    admin_client.post(
        CHANGELIST,
        {
            "action": "regenerate_selected",
            "_selected_action": [row.pk],
            "confirmed": "yes",
        },
    )
    assert len(dispatcher.events) == 1
    run_worker(dispatcher)
    assert client.get(f"{BASE}/objects/{row.collection_digest}").status_code == 200


def test_progress_endpoint_reads_the_status_objects(
    admin_client, client, site, s3_client
):
    client.get(f"{BASE}/objects/{site['good']}")
    row = FastaRequest.objects.get()
    status = {
        "state": "running",
        "started_time": timezone.now().isoformat(),
        "updated_time": timezone.now().isoformat(),
        "progress": {"fraction": 0.5},
    }
    s3_client.put_object(
        Bucket=site["bucket"],
        Key=f"fasta/{row.collection_digest}.status.json",
        Body=json.dumps(status),
    )
    answer = admin_client.get(f"{CHANGELIST}progress/?ids={row.pk}").json()
    assert answer == {str(row.pk): {"state": "running", "progress": 0.5}}


def test_detail_page_shows_the_manifest_links_and_errors(admin_client, client, site):
    row = ready_row(client, site)
    FastaRequest.objects.filter(pk=row.pk).update(
        error_history=[
            {"attempt": 1, "time": "t", "code": "store_unavailable", "message": "m"}
        ]
    )
    page = admin_client.get(f"{CHANGELIST}{row.pk}/change/").content.decode()
    assert row.sha256 in page and row.md5 in page
    assert f"/ga4gh/drs/v1/objects/{row.collection_digest}" in page
    assert "X-Amz-Signature" in page  # a fresh download URL
    assert "store_unavailable" in page


def test_collections_page_lists_the_store_and_pregenerates(
    admin_client, site, dispatcher
):
    page = admin_client.get(f"{CHANGELIST}collections/").content.decode()
    assert site["good"] in page and "not requested" in page
    response = admin_client.post(
        f"{CHANGELIST}collections/", {"digest": [site["good"]]}, follow=True
    )
    assert "Started 1 generation" in response.content.decode()
    assert len(dispatcher.events) == 1
    assert FastaRequest.objects.get().state == "queued"


def test_summary_counts_states_and_bytes(client, site, dispatcher):
    row = ready_row(client, site)
    FastaRequest.objects.create(collection_digest="F" * 32, state="failed")
    figures = fasta_admin.summary()
    assert figures["counts"]["ready"] == 1 and figures["counts"]["failed"] == 1
    assert figures["bytes_cached"] == row.size
    assert figures["last_day"] == 1
    assert figures["median_throughput"] > 0


def test_rows_cannot_be_added_or_edited_by_hand(admin_client, client, site):
    row = ready_row(client, site)
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    admin_client.post(f"{CHANGELIST}{row.pk}/change/", {"state": "failed"})
    row.refresh_from_db()
    assert row.state == "ready"
