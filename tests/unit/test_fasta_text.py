"""The FASTA layout and the streaming verifier, without any store."""

import hashlib
import random

import pytest

from fasta_drs.generator.errors import InvalidOptions, VerificationFailed
from fasta_drs.generator.fasta_text import FastaLayout, TextVerifier, sha512t24u
from fasta_drs.generator.stores import SequenceEntry


def entry(name, bases, description=None):
    digest = sha512t24u(hashlib.sha512(bases.encode()).digest())
    return SequenceEntry(name, description, len(bases), digest)


def reference_text(records, width):
    """FASTA text written the plain way, to compare the layout with."""
    parts = []
    for name, description, bases in records:
        parts.append(f">{name}" + (f" {description}" if description else "") + "\n")
        parts.extend(bases[i : i + width] + "\n" for i in range(0, len(bases), width))
    return "".join(parts).encode()


RECORDS = [
    ("chr1", "first one", "ACGT" * 50),
    ("empty", None, ""),
    ("one", None, "G"),
    ("ragged", "desc", "ACGTN" * 41),
]


def layout_for(records, width):
    return FastaLayout([entry(n, b, d) for n, d, b in records], width)


def feed_in_chunks(verifier, text, seed):
    rng = random.Random(seed)
    position = 0
    while position < len(text):
        size = rng.randint(1, 97)
        verifier.feed(text[position : position + size])
        position += size
    verifier.finish()
    verifier.close()


@pytest.mark.parametrize("width", [1, 2, 7, 60, 80, 1000])
def test_layout_size_matches_plainly_written_text(width):
    layout = layout_for(RECORDS, width)
    assert layout.text_size == len(reference_text(RECORDS, width))
    assert layout.bases == sum(len(bases) for _, _, bases in RECORDS)


@pytest.mark.parametrize("width", [1, 7, 80])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verifier_accepts_the_exact_text_in_any_chunking(width, seed):
    text = reference_text(RECORDS, width)
    verifier = TextVerifier(layout_for(RECORDS, width))
    feed_in_chunks(verifier, text, seed)
    assert verifier.sequences_verified == len(RECORDS)
    assert verifier.bases_verified == sum(len(b) for _, _, b in RECORDS)


def test_verifier_names_the_sequence_whose_bases_changed():
    text = bytearray(reference_text(RECORDS, 80))
    position = text.index(b"ACGTN")  # the "ragged" record
    text[position] = ord("T")
    verifier = TextVerifier(layout_for(RECORDS, 80))
    with pytest.raises(VerificationFailed, match="'ragged'"):
        feed_in_chunks(verifier, bytes(text), seed=1)


def test_verifier_rejects_a_header_that_differs():
    text = reference_text(RECORDS, 80).replace(b"first one", b"first two")
    with pytest.raises(VerificationFailed, match="header of sequence 'chr1'"):
        feed_in_chunks(TextVerifier(layout_for(RECORDS, 80)), text, seed=1)


def test_verifier_rejects_a_newline_out_of_place():
    good = reference_text(RECORDS, 10)
    # Swap a newline with the base after it: same bytes, wrong wrapping.
    position = good.index(b"\n", good.index(b"ACGT")) + 0
    text = bytearray(good)
    text[position], text[position + 1] = text[position + 1], text[position]
    with pytest.raises(VerificationFailed, match="wrapped"):
        feed_in_chunks(TextVerifier(layout_for(RECORDS, 10)), bytes(text), seed=1)


def test_verifier_rejects_text_that_ends_early():
    text = reference_text(RECORDS, 80)[:-5]
    with pytest.raises(VerificationFailed, match="ended inside sequence 'ragged'"):
        feed_in_chunks(TextVerifier(layout_for(RECORDS, 80)), text, seed=1)


def test_verifier_rejects_text_after_the_last_sequence():
    text = reference_text(RECORDS, 80) + b">extra\nA\n"
    with pytest.raises(VerificationFailed, match="after its last sequence"):
        feed_in_chunks(TextVerifier(layout_for(RECORDS, 80)), text, seed=1)


def test_fai_leaves_out_empty_sequences_and_uses_short_lines():
    fai = layout_for(RECORDS, 80).fai().decode().splitlines()
    assert [line.split("\t")[0] for line in fai] == ["chr1", "one", "ragged"]
    assert fai[1].split("\t")[1:] == ["1", fai[1].split("\t")[2], "1", "2"]
    text = reference_text(RECORDS, 80)
    for line in fai:
        name, _length, offset, line_bases, _line_bytes = line.split("\t")
        bases = dict((n, b) for n, _, b in RECORDS)[name]
        assert (
            text[int(offset) : int(offset) + int(line_bases)]
            == bases[: int(line_bases)].encode()
        )


@pytest.mark.parametrize("width", [0, -1, 2.5])
def test_line_width_below_one_is_refused(width):
    with pytest.raises(InvalidOptions):
        layout_for(RECORDS, width)
