"""The operators' management commands against moto's S3 server."""

import io

import pytest
from django.core.management import CommandError, call_command

from fasta_drs.drs import objects
from fasta_drs.models import FastaRequest
from fasta_drs.tasks import generate
from tests.integration.test_drs_api import RecordingDispatcher
from tests.support.genomes import random_bases, write_fasta

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def configured(settings, bucket, tmp_path, monkeypatch):
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "cache"),
    }
    dispatcher = RecordingDispatcher()
    monkeypatch.setattr(
        "fasta_drs.management.commands.pregenerate.get_dispatcher", lambda: dispatcher
    )
    monkeypatch.setattr(
        "fasta_drs.management.commands.reconcile.get_dispatcher", lambda: dispatcher
    )
    monkeypatch.setattr(objects, "get_dispatcher", lambda: dispatcher)
    return dispatcher


def add(*arguments):
    out, err = io.StringIO(), io.StringIO()
    call_command("add_fasta", *map(str, arguments), stdout=out, stderr=err)
    return out.getvalue().split(), err.getvalue()


def keys(s3_client, bucket):
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="store/").get(
        "Contents", []
    )
    return {item["Key"]: item["LastModified"] for item in listed}


def test_add_fasta_creates_verifies_and_publishes_a_store(
    configured, tmp_path, s3_client, bucket, client
):
    first = write_fasta(tmp_path / "one.fa", [("a", "desc", random_bases(3000, 1))])
    (digest,), log = add(first, "--alias", "demo:one")
    assert "verified" in log
    published = keys(s3_client, bucket)
    assert "store/rgstore.json" in published
    assert f"store/collections/{digest}.rgsi" in published
    assert "store/aliases/collections/demo.tsv" in published

    # A second genome sharing a sequence: only what the import wrote goes up.
    shared = random_bases(3000, 1)
    second = write_fasta(
        tmp_path / "two.fa", [("a", "desc", shared), ("b", None, "ACGT" * 50)]
    )
    (other,), _ = add(second)
    after = keys(s3_client, bucket)
    unchanged = [key for key in published if key.endswith(".seq")]
    assert all(after[key] == published[key] for key in unchanged)
    assert len([key for key in after if key.endswith(".seq")]) == 2

    # The site sees both, with the alias.
    response = client.get(f"/ga4gh/drs/v1/objects/{other}")
    assert response.status_code == 202
    generate.run(configured.events.pop())
    assert client.get(f"/ga4gh/drs/v1/objects/{other}").status_code == 200
    first_object = client.get(f"/ga4gh/drs/v1/objects/{digest}")
    generate.run(configured.events.pop())
    first_object = client.get(f"/ga4gh/drs/v1/objects/{digest}").json()
    assert first_object["aliases"] == ["demo:one"]


def test_add_fasta_refuses_what_is_not_fasta(configured, tmp_path):
    junk = tmp_path / "junk.fa"
    junk.write_text("this is not a genome\n")
    with pytest.raises(CommandError):
        add(junk)
    with pytest.raises(CommandError, match="NAMESPACE:NAME"):
        add(junk, "--alias", "nocolon")


def test_pregenerate_dispatches_once_per_digest_and_refuses_unknown(
    configured, tmp_path
):
    fasta = write_fasta(tmp_path / "g.fa", [("x", None, random_bases(500, 3))])
    (digest,), _ = add(fasta)
    out = io.StringIO()
    call_command("pregenerate", digest, stdout=out)
    call_command("pregenerate", "--all", stdout=out)
    assert "dispatched" in out.getvalue() and "already queued" in out.getvalue()
    assert len(configured.events) == 1
    with pytest.raises(CommandError, match="no collection"):
        call_command("pregenerate", "Y" * 32)


def test_reconcile_learns_finished_generations_from_s3(configured, tmp_path):
    fasta = write_fasta(tmp_path / "g.fa", [("x", None, random_bases(500, 4))])
    (digest,), _ = add(fasta)
    call_command("pregenerate", digest, stdout=io.StringIO())
    generate.run(configured.events.pop())
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    assert FastaRequest.objects.get().state == "ready"
    assert "queued → ready" in out.getvalue()
