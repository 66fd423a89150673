"""The seqcol API over an S3 store of the seqcol compliance collections.

The six FASTA files whose digests the GA4GH compliance suite knows are
imported into one store and published to moto's S3 server; the site reads
it from there as it does in production.
"""

import json
import uuid
from pathlib import Path

import boto3
import pytest
from refget.compliance import run_compliance

from fasta_drs.generator.publishing import import_fasta, publish_store

pytestmark = [pytest.mark.integration]

TESTDATA = Path(__file__).resolve().parents[3] / "shared/testdata/seqcol-compliance"
KNOWN = json.loads((TESTDATA / "test_fasta_digests.json").read_text())
BASE = KNOWN["base.fa"]
SEQCOL = "/seqcol"


@pytest.fixture(scope="module")
def published(moto_server, tmp_path_factory):
    """The six collections in an S3 store; base.fa has alias test:base."""
    bucket = f"seqcol-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    directory = tmp_path_factory.mktemp("seqcol") / "store"
    for name in sorted(KNOWN):
        alias = "test:base" if name == "base.fa" else None
        import_fasta(directory, TESTDATA / name, collection_alias=alias)
    publish_store(directory, f"s3://{bucket}/store/")
    return bucket


@pytest.fixture
def store(settings, published, tmp_path):
    """The site configured to read the published store (a fresh cache)."""
    bucket = published
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "OUTPUT": f"s3://{bucket}/fasta/",
        "CACHE_DIR": str(tmp_path / "cache"),
    }
    return bucket


def get(client, path, **headers):
    return client.get(SEQCOL + path, headers=headers)


def test_the_refget_compliance_suite_passes_on_the_live_site(live_server, store):
    report = run_compliance(f"{live_server.url}{SEQCOL}")
    failed = {r["name"]: r["error"] for r in report["results"] if not r["passed"]}
    assert not failed
    assert report["total"] == report["passed"] == 65


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_level_1_and_level_2_give_the_known_answers(client, store, name):
    known = KNOWN[name]
    digest = known["top_level_digest"]

    level1 = get(client, f"/collection/{digest}?level=1").json()
    assert level1 == {
        **known["level1"],
        "sorted_name_length_pairs": known["sorted_name_length_pairs_digest"],
    }
    level2 = get(client, f"/collection/{digest}?level=2")
    assert level2.json() == known["level2"]
    assert get(client, f"/collection/{digest}").json() == known["level2"]
    assert level2["Link"].startswith(
        f"<http://testserver/ga4gh/drs/v1/objects/{digest}>"
    )
    for attribute, value in known["level2"].items():
        served = get(client, f"/attribute/collection/{attribute}/{level1[attribute]}")
        assert served.status_code == 200
        assert served.json() == value


def _comparison(a, b, counts, same_order):
    """The comparison of two collections sharing every attribute."""
    attributes = sorted(KNOWN[a]["level2"])
    return {
        "digests": {
            "a": KNOWN[a]["top_level_digest"],
            "b": KNOWN[b]["top_level_digest"],
        },
        "attributes": {"a_only": [], "b_only": [], "a_and_b": attributes},
        "array_elements": {
            "a_count": {k: len(KNOWN[a]["level2"]["names"]) for k in attributes},
            "b_count": {k: len(KNOWN[b]["level2"]["names"]) for k in attributes},
            "a_and_b_count": dict(zip(attributes, counts, strict=True)),
            "a_and_b_same_order": dict(zip(attributes, same_order, strict=True)),
        },
    }


# Attributes in order: lengths, name_length_pairs, names, sequences,
# sorted_sequences.
COMPARISONS = [
    # The same three sequences, reordered: only the sorted array agrees.
    (
        "base.fa",
        "different_order.fa",
        [3, 3, 3, 3, 3],
        [False, False, False, False, True],
    ),
    # The first two of the three sequences. base.fa's lengths repeat 4,
    # which subset.fa has once: the order of lengths is undefined.
    ("base.fa", "subset.fa", [2, 2, 2, 2, 2], [None, True, True, True, True]),
    # Same sequences, other names: no name or name-length pair in common.
    (
        "base.fa",
        "different_names.fa",
        [3, 0, 0, 3, 3],
        [True, None, None, True, True],
    ),
]


@pytest.mark.parametrize(("a", "b", "counts", "same_order"), COMPARISONS)
def test_comparison_of_two_stored_collections(client, store, a, b, counts, same_order):
    digests = KNOWN[a]["top_level_digest"], KNOWN[b]["top_level_digest"]
    response = get(client, "/comparison/{}/{}".format(*digests))
    assert response.status_code == 200
    assert response.json() == _comparison(a, b, counts, same_order)


def test_posted_collection_is_compared_and_its_digest_computed(client, store):
    subset = KNOWN["subset.fa"]
    body = {key: subset["level2"][key] for key in ("names", "lengths", "sequences")}
    response = client.post(
        f"{SEQCOL}/comparison/{BASE['top_level_digest']}",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 200
    expected = _comparison("base.fa", *COMPARISONS[1][1:])
    assert response.json() == expected  # derived attributes were added


def test_listing_pages_through_every_collection_in_digest_order(client, store):
    digests = sorted(known["top_level_digest"] for known in KNOWN.values())
    first = get(client, "/list/collection?page_size=4").json()
    second = get(client, "/list/collection?page_size=4&page=1").json()
    assert first["pagination"] == {"page": 0, "page_size": 4, "total": 6}
    assert first["results"] + second["results"] == digests
    assert get(client, "/list/collection?page=9").json()["results"] == []


def test_filters_combine_with_and(client, store):
    lengths = BASE["level1"]["lengths"]
    sharing = sorted(
        known["top_level_digest"]
        for known in KNOWN.values()
        if known["level1"]["lengths"] == lengths
    )
    assert len(sharing) == 4
    by_lengths = get(client, f"/list/collection?lengths={lengths}").json()
    assert by_lengths["results"] == sharing
    both = get(
        client, f"/list/collection?lengths={lengths}&names={BASE['level1']['names']}"
    ).json()
    assert both["results"] == [BASE["top_level_digest"]]
    other_names = KNOWN["subset.fa"]["level1"]["names"]
    none = get(client, f"/list/collection?lengths={lengths}&names={other_names}")
    assert none.json()["results"] == [] and none.json()["pagination"]["total"] == 0


def test_attribute_listing_gives_distinct_digests(client, store):
    for attribute in ("names", "lengths", "sorted_sequences"):
        expected = sorted({known["level1"][attribute] for known in KNOWN.values()})
        listing = get(client, f"/list/attributes/{attribute}").json()
        assert listing["results"] == expected
        assert listing["pagination"]["total"] == len(expected)


def test_aliases_resolve_both_ways(client, store):
    digest = BASE["top_level_digest"]
    assert get(client, "/alias/collection/test/base").json()["digest"] == digest
    assert get(client, f"/aliases/collection/{digest}").json()["aliases"] == [
        {"namespace": "test", "alias": "base"}
    ]
    assert get(client, "/list/alias/collection").json()["namespaces"] == ["test"]
    assert get(client, "/list/alias/collection/test").json()["aliases"] == ["base"]
    assert get(client, "/alias/collection/test/nope").status_code == 404
    assert get(client, "/list/alias/collection/nope").status_code == 404
    assert get(client, "/alias/genome/test/base").status_code == 404


@pytest.mark.django_db
def test_the_seqcol_and_drs_service_infos_point_to_each_other(client, store):
    seqcol = get(client, "/service-info").json()
    assert seqcol["type"]["artifact"] == "refget-seqcol"
    assert seqcol["seqcol"]["collections"] == 6
    drs_url = seqcol["seqcol"]["fasta_drs"]["service_info"]
    drs = client.get(drs_url.removeprefix("http://testserver")).json()
    assert drs["type"]["artifact"] == "drs"
    assert drs["seqcol"]["service_info"] == "http://testserver/seqcol/service-info"
    # The Link of a collection names a DRS object the DRS API knows.
    link = get(client, f"/collection/{BASE['top_level_digest']}")["Link"]
    drs_object = link[1 : link.index(">")].removeprefix("http://testserver")
    assert client.options(drs_object).status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/collection/{'A' * 32}", 404),
        ("/collection/not-a-digest", 404),
        (f"/collection/{BASE['top_level_digest']}?level=3", 400),
        (f"/collection/{BASE['top_level_digest']}?level=one", 400),
        (f"/attribute/collection/names/{'A' * 32}", 404),
        (f"/attribute/collection/colours/{BASE['level1']['names']}", 404),
        (
            "/attribute/collection/sorted_name_length_pairs/"
            + BASE["sorted_name_length_pairs_digest"],
            404,
        ),
        (f"/comparison/{BASE['top_level_digest']}/{'A' * 32}", 404),
        ("/list/collection?page_size=0", 400),
        ("/list/collection?page_size=5000", 400),
        ("/list/collection?page=-1", 400),
        ("/list/collection?colour=red", 400),
        ("/list/attributes/colours", 404),
        ("/no/such/endpoint", 404),
        (f"/sequence/{'A' * 32}", 404),
    ],
)
def test_bad_requests_get_a_json_error(client, store, path, status):
    response = get(client, path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["status_code"] == status
    assert response.json()["msg"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"{}",
        b'{"names": "chr1"}',
        b'{"names": ["a"], "lengths": []}',
    ],
)
def test_posting_something_other_than_a_collection_is_400(client, store, body):
    response = client.post(
        f"{SEQCOL}/comparison/{BASE['top_level_digest']}",
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 400


def test_wrong_method_is_405_with_allow(client, store):
    response = client.delete(f"{SEQCOL}/collection/{BASE['top_level_digest']}")
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert response.json()["status_code"] == 405


def test_openapi_document_lists_every_endpoint(client, store):
    document = get(client, "/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/collection/{digest}",
        "/comparison/{digest1}/{digest2}",
        "/list/collection",
        "/sequence/{digest}",
    ):
        assert path in document["paths"]
