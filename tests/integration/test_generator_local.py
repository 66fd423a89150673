"""The generator from store directories to output directories."""

import gzip
import hashlib
import json
import shutil
import subprocess

import pysam
import pytest
from gtars.refget import RefgetStore, digest_fasta

from fasta_drs.generator import (
    CollectionNotFound,
    InvalidOptions,
    StoreUnavailable,
    VerificationFailed,
    generate_fasta,
    pipeline,
)
from fasta_drs.generator.stores import seqdata_path
from tests.support.genomes import ODD_RECORDS, build_store


def export_with_gtars(store_path, digest, path, width):
    store = RefgetStore.open_local(str(store_path))
    store.set_quiet(True)
    store.load_collection(digest)
    store.load_all_sequences()
    store.export_fasta(digest, str(path), None, width)
    return path.read_bytes()


# gtars' Encoded mode decodes the full IUPAC record wrongly (it drops a D
# beside H and V, and turns U into T); the generator must refuse it, which
# test_encoded_store_that_decodes_bases_wrongly_is_refused shows. The other
# odd records decode exactly in both modes.
ENCODED_RECORDS = [record for record in ODD_RECORDS if record[0] != "iupac"]


@pytest.fixture(scope="module", params=["raw", "encoded"])
def odd_store(request, tmp_path_factory):
    """A store of odd records in either storage mode, and its records."""
    encoded = request.param == "encoded"
    records = ENCODED_RECORDS if encoded else ODD_RECORDS
    directory = tmp_path_factory.mktemp(f"odd-{request.param}")
    digest = build_store(directory, records, encoded=encoded)
    return directory / "store", digest, records


@pytest.mark.parametrize("width", [1, 7, 60, 80, 241])
def test_output_is_byte_identical_to_gtars_export_fasta(odd_store, tmp_path, width):
    store, digest, _records = odd_store
    generate_fasta(store, digest, tmp_path / "out", line_width=width)
    expected = export_with_gtars(store, digest, tmp_path / "gtars.fa", width)
    assert (
        gzip.decompress((tmp_path / "out" / f"{digest}.fa.gz").read_bytes()) == expected
    )


@pytest.mark.parametrize("width", [1, 7, 80])
def test_streamed_long_sequences_are_byte_identical_too(
    odd_store, tmp_path, width, monkeypatch
):
    # Every sequence over 100 bases goes through the streaming path.
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_BASES", 100)
    store, digest, _records = odd_store
    generate_fasta(store, digest, tmp_path / "out", line_width=width)
    expected = export_with_gtars(store, digest, tmp_path / "gtars.fa", width)
    assert (
        gzip.decompress((tmp_path / "out" / f"{digest}.fa.gz").read_bytes()) == expected
    )


def test_decompressed_output_has_the_requested_digest(odd_store, tmp_path):
    store, digest, _records = odd_store
    generate_fasta(store, digest, tmp_path)
    plain = tmp_path / "plain.fa"
    plain.write_bytes(gzip.decompress((tmp_path / f"{digest}.fa.gz").read_bytes()))
    assert digest_fasta(str(plain)).digest == digest


def test_regions_read_through_fai_and_gzi_are_the_expected_bases(odd_store, tmp_path):
    store, digest, records = odd_store
    generate_fasta(store, digest, tmp_path, line_width=60)
    fasta = pysam.FastaFile(str(tmp_path / f"{digest}.fa.gz"))
    bases = {name: seq.upper() for name, _, seq in records}
    for name in ("one_base", "exact_lines", "ragged_lines", "lowercase", "long_header"):
        assert fasta.fetch(name) == bases[name]
        assert fasta.fetch(name, 3, 130) == bases[name][3:130]


@pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools not installed")
def test_samtools_reads_a_region_and_writes_the_same_fai(odd_store, tmp_path):
    store, digest, records = odd_store
    generate_fasta(store, digest, tmp_path, line_width=60)
    fasta = tmp_path / f"{digest}.fa.gz"
    region = subprocess.run(
        ["samtools", "faidx", str(fasta), "ragged_lines:11-70"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ragged = dict((n, s) for n, _, s in records)["ragged_lines"]
    assert region == [">ragged_lines:11-70", ragged[10:70]]

    # samtools' own index of the uncompressed text matches ours.
    plain = tmp_path / "plain.fa"
    plain.write_bytes(gzip.decompress(fasta.read_bytes()))
    subprocess.run(["samtools", "faidx", str(plain)], check=True, capture_output=True)
    ours = (tmp_path / f"{digest}.fa.gz.fai").read_text()
    assert ours == (tmp_path / "plain.fa.fai").read_text()


@pytest.mark.skipif(shutil.which("bgzip") is None, reason="bgzip not installed")
def test_gzi_equals_the_index_bgzip_writes_for_our_blocks(tmp_path):
    records = [(f"chr{i}", None, "ACGT" * 40_000) for i in range(3)]
    digest = build_store(tmp_path, records)
    generate_fasta(tmp_path / "store", digest, tmp_path / "out")
    fasta = tmp_path / "out" / f"{digest}.fa.gz"
    subprocess.run(
        ["bgzip", "-r", "-I", str(tmp_path / "bgzip.gzi"), str(fasta)], check=True
    )
    assert (tmp_path / "out" / f"{digest}.fa.gz.gzi").read_bytes() == (
        tmp_path / "bgzip.gzi"
    ).read_bytes()


def test_two_runs_write_identical_bytes(odd_store, tmp_path):
    store, digest, _records = odd_store
    first = generate_fasta(store, digest, tmp_path / "one", threads=1)
    second = generate_fasta(store, digest, tmp_path / "two", threads=3)
    for suffix in (".fa.gz", ".fa.gz.fai", ".fa.gz.gzi"):
        one = (tmp_path / "one" / f"{digest}{suffix}").read_bytes()
        assert one == (tmp_path / "two" / f"{digest}{suffix}").read_bytes()
    assert first["sha256"] == second["sha256"]


def test_manifest_describes_the_object(odd_store, tmp_path):
    store, digest, records = odd_store
    manifest = generate_fasta(store, digest, tmp_path, line_width=70)
    on_disk = json.loads((tmp_path / f"{digest}.json").read_text())
    assert on_disk == manifest
    data = (tmp_path / f"{digest}.fa.gz").read_bytes()
    assert manifest["size"] == len(data)
    assert manifest["md5"] == hashlib.md5(data).hexdigest()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["line_width"] == 70
    assert manifest["names"] == [name for name, _, _ in records]
    assert manifest["sequence_count"] == len(records)
    assert manifest["bases"] == sum(len(seq) for _, _, seq in records)
    assert manifest["compression"]["format"] == "BGZF"
    assert set(manifest["seconds"]) == {"store", "stream", "publish", "total"}
    status = json.loads((tmp_path / f"{digest}.status.json").read_text())
    assert status["state"] == "ready"


def test_names_select_sequences_in_the_order_given(odd_store, tmp_path):
    store, digest, _records = odd_store
    generate_fasta(store, digest, tmp_path, names=["lowercase", "one_base"])
    text = gzip.decompress((tmp_path / f"{digest}.fa.gz").read_bytes()).decode()
    headers = [line for line in text.splitlines() if line.startswith(">")]
    assert headers == [
        ">lowercase soft-masked input is stored upper case",
        ">one_base a single base",
    ]


def test_unknown_names_and_digests_are_not_found(odd_store, tmp_path):
    store, digest, _records = odd_store
    with pytest.raises(CollectionNotFound, match="no sequence named 'chrZ'"):
        generate_fasta(store, digest, tmp_path, names=["chrZ"])
    with pytest.raises(CollectionNotFound, match="no collection"):
        generate_fasta(store, "A" * 32, tmp_path)
    with pytest.raises(CollectionNotFound, match="not a collection digest"):
        generate_fasta(store, "../../etc/passwd", tmp_path)
    assert not list(tmp_path.glob("*.fa.gz"))


def test_repeated_names_are_refused(odd_store, tmp_path):
    store, digest, _records = odd_store
    with pytest.raises(InvalidOptions):
        generate_fasta(store, digest, tmp_path, names=["one_base", "one_base"])


def test_a_directory_without_a_store_is_unavailable(tmp_path):
    with pytest.raises(StoreUnavailable, match=r"rgstore\.json"):
        generate_fasta(tmp_path, "A" * 32, tmp_path / "out")


def test_damaged_bases_fail_verification_and_publish_nothing(tmp_path):
    records = [("chr1", None, "ACGT" * 1000), ("chr2", "second", "GGCCAATT" * 500)]
    digest = build_store(tmp_path, records)
    store = tmp_path / "store"
    manifest = json.loads((store / "rgstore.json").read_text())
    chr2 = RefgetStore.open_local(str(store)).get_collection_level2(digest)[
        "sequences"
    ][1]
    seq_file = store / seqdata_path(manifest, chr2.removeprefix("SQ."))
    damaged = bytearray(seq_file.read_bytes())
    damaged[100] = ord("T") if damaged[100] != ord("T") else ord("A")
    seq_file.write_bytes(bytes(damaged))

    output = tmp_path / "out"
    with pytest.raises(VerificationFailed, match="'chr2'"):
        generate_fasta(store, digest, output)
    assert sorted(path.name for path in output.iterdir()) == [f"{digest}.status.json"]
    status = json.loads((output / f"{digest}.status.json").read_text())
    assert status["state"] == "failed"
    assert status["error"]["code"] == "verification_failed"
    assert status["error"]["retriable"] is False


def test_encoded_store_that_decodes_bases_wrongly_is_refused(tmp_path):
    records = [("fine", None, "ACGT" * 100), ("iupac", None, "ACGTRYKMSWBDHVN" * 20)]
    digest = build_store(tmp_path, records, encoded=True)
    with pytest.raises(VerificationFailed, match="'iupac'"):
        generate_fasta(tmp_path / "store", digest, tmp_path / "out")
    assert not (tmp_path / "out" / f"{digest}.fa.gz").exists()


def test_command_line_draws_a_progress_bar_on_a_terminal(tmp_path):
    import os
    import pty
    import sys

    records = [(f"chr{i}", None, "ACGT" * 250_000) for i in range(1, 4)]
    digest = build_store(tmp_path, records)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fasta_drs.generator",
            str(tmp_path / "store"),
            digest,
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    drawn = b""
    while True:
        try:
            piece = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not piece:
            break
        drawn += piece
    process.wait(timeout=60)
    os.close(controller)
    assert process.returncode == 0
    assert b"[" + b"#" * 30 + b"] 100.0%" in drawn
    assert b"Mb" in drawn and b"MB/s" in drawn
