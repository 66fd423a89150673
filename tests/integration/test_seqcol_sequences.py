"""The refget sequences endpoint on a genome of several megabases in S3."""

import hashlib
import uuid

import boto3
import pytest

from fasta_drs import registry
from fasta_drs.generator.publishing import publish_store
from tests.support.genomes import build_store, random_bases

pytestmark = [pytest.mark.integration]

CHROMOSOMES = {
    "chr1": random_bases(3_000_000, 11),
    "chr2": random_bases(2_000_000, 12),
    "chrM": random_bases(16_569, 13),
}
# A chunk of the stream is at most this many bases.
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def published(moto_server, tmp_path_factory):
    """The genome in an S3 store: (bucket, collection digest)."""
    bucket = f"sequences-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    directory = tmp_path_factory.mktemp("sequences")
    collection = build_store(
        directory, [(name, None, bases) for name, bases in CHROMOSOMES.items()]
    )
    publish_store(directory / "store", f"s3://{bucket}/store/")
    return bucket, collection


@pytest.fixture
def genome(settings, published, tmp_path):
    """The site reading the genome (a fresh cache); {name: sequence digest}."""
    bucket, collection = published
    settings.FASTA_DRS = {
        **settings.FASTA_DRS,
        "STORE": f"s3://{bucket}/store/",
        "CACHE_DIR": str(tmp_path / "cache"),
    }
    level2 = registry.get_registry().collection(collection)
    return dict(zip(level2.names, level2.sequences, strict=True))


def bases_of(response):
    assert response.streaming
    chunks = list(response.streaming_content)
    assert max(map(len, chunks)) <= CHUNK
    return b"".join(chunks).decode()


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("chr1", 0, 10),
        ("chr1", 1_234_567, 1_334_567),
        ("chr1", 2_999_990, 3_000_000),
        ("chr2", 65_535, 65_537),
        ("chrM", 0, 16_569),
    ],
)
def test_start_and_end_give_those_bases(client, genome, name, start, end):
    response = client.get(f"/seqcol/sequence/SQ.{genome[name]}?start={start}&end={end}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vnd.ga4gh.refget.v2.0.0+plain")
    assert int(response["Content-Length"]) == end - start
    assert bases_of(response) == CHROMOSOMES[name][start:end]


def test_a_whole_chromosome_is_streamed_without_being_loaded(client, genome):
    response = client.get(f"/seqcol/sequence/{genome['chr1']}")
    assert response.status_code == 200
    assert bases_of(response) == CHROMOSOMES["chr1"]
    store = registry.get_registry()._index.store
    assert store.stats()["n_sequences_in_memory"] == "0"


def test_range_header_answers_206_with_content_range(client, genome):
    url = f"/seqcol/sequence/{genome['chr2']}"
    cases = {
        "bytes=100-199": (100, 200),
        "bytes=1999990-": (1_999_990, 2_000_000),
        "bytes=1999990-5000000": (1_999_990, 2_000_000),  # the end is clipped
        "bytes=-25": (2_000_000 - 25, 2_000_000),
    }
    for header, (start, end) in cases.items():
        response = client.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {start}-{end - 1}/2000000"
        assert bases_of(response) == CHROMOSOMES["chr2"][start:end]


def test_md5_names_the_same_sequence(client, genome):
    md5 = hashlib.md5(CHROMOSOMES["chrM"].encode()).hexdigest()
    response = client.get(f"/seqcol/sequence/{md5}?start=5&end=15")
    assert bases_of(response) == CHROMOSOMES["chrM"][5:15]
    metadata = client.get(f"/seqcol/sequence/{genome['chrM']}/metadata").json()
    assert metadata["metadata"] == {
        "md5": md5,
        "ga4gh": f"SQ.{genome['chrM']}",
        "length": 16_569,
        "aliases": [],
    }


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("?start=abc", {}, 400),
        ("?start=-1", {}, 400),
        ("?start=10&end=5", {}, 416),
        ("?start=16569", {}, 416),
        ("?end=16570", {}, 416),
        ("?start=1", {"Range": "bytes=0-1"}, 400),
        ("", {"Range": "bytes=5-1"}, 400),
        ("", {"Range": "bytes=0-1,5-6"}, 400),
        ("", {"Range": "lines=0-1"}, 400),
        ("", {"Range": "bytes=16569-"}, 416),
        ("", {"Accept": "application/json"}, 406),
    ],
)
def test_bad_ranges_get_the_refget_status(client, genome, query, headers, status):
    response = client.get(f"/seqcol/sequence/{genome['chrM']}{query}", headers=headers)
    assert response.status_code == status
    assert response.json()["status_code"] == status
    if status == 416:
        assert response["Content-Range"] == "bytes */16569"


def test_an_empty_span_is_empty(client, genome):
    response = client.get(f"/seqcol/sequence/{genome['chrM']}?start=7&end=7")
    assert response.status_code == 200
    assert response.content == b""


def test_sequence_service_info(client, genome):
    info = client.get("/seqcol/sequence/service-info").json()
    assert info["type"]["artifact"] == "refget"
    assert info["refget"]["circular_supported"] is False
    assert set(info["refget"]["algorithms"]) == {"md5", "ga4gh"}


def test_head_gives_the_length_without_the_bases(client, genome):
    response = client.head(f"/seqcol/sequence/{genome['chr1']}?start=10&end=110")
    assert response.status_code == 200
    assert response["Content-Length"] == "100"
    assert not response.streaming and response.content == b""
