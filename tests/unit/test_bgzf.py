"""BGZF blocks: gzip-compatible, bounded, indexed and deterministic."""

import gzip
import os
import random
import struct

import pytest

from fasta_drs.generator.bgzf import (
    BLOCK_INPUT_SIZE,
    EOF_BLOCK,
    BgzfWriter,
    compress_block,
)
from fasta_drs.generator.errors import InvalidOptions


def compress(data, chunk_sizes=(1 << 20,), threads=2, level=1):
    out = []
    writer = BgzfWriter(out.append, level=level, threads=threads)
    rng = random.Random(0)
    position = 0
    while position < len(data):
        size = rng.choice(chunk_sizes)
        writer.write(data[position : position + size])
        position += size
    writer.close()
    return b"".join(out), writer


def blocks_of(stream):
    """Split a BGZF stream into blocks using each block's BSIZE field."""
    blocks = []
    position = 0
    while position < len(stream):
        assert stream[position : position + 4] == b"\x1f\x8b\x08\x04"
        assert stream[position + 12 : position + 16] == b"BC\x02\x00"
        size = struct.unpack("<H", stream[position + 16 : position + 18])[0] + 1
        blocks.append((position, stream[position : position + size]))
        position += size
    return blocks


@pytest.fixture(scope="module")
def genome_text():
    rng = random.Random(7)
    lines = ["".join(rng.choices("ACGTN", k=80)) for _ in range(40_000)]
    return (">chr1 test\n" + "\n".join(lines) + "\n").encode()


def test_stream_is_gzip_that_decompresses_to_the_input(genome_text):
    stream, _ = compress(genome_text)
    assert gzip.decompress(stream) == genome_text


def test_blocks_hold_at_most_htslib_block_size_and_end_with_eof(genome_text):
    stream, writer = compress(genome_text)
    blocks = blocks_of(stream)
    assert blocks[-1][1] == EOF_BLOCK
    sizes = [struct.unpack("<I", block[-4:])[0] for _, block in blocks[:-1]]
    assert all(size == BLOCK_INPUT_SIZE for size in sizes[:-1])
    assert sum(sizes) == len(genome_text)
    assert writer.blocks == len(blocks) - 1


def test_gzi_lists_every_block_start_after_the_first(genome_text):
    stream, writer = compress(genome_text)
    gzi = writer.gzi()
    count = struct.unpack("<Q", gzi[:8])[0]
    entries = [
        struct.unpack("<QQ", gzi[8 + 16 * i : 24 + 16 * i]) for i in range(count)
    ]
    starts = [position for position, _ in blocks_of(stream)[1:-1]]
    assert [compressed for compressed, _ in entries] == starts
    assert [plain for _, plain in entries] == [
        BLOCK_INPUT_SIZE * (i + 1) for i in range(count)
    ]


def test_output_does_not_depend_on_chunking_or_threads(genome_text):
    reference, _ = compress(genome_text, chunk_sizes=(1 << 20,), threads=1)
    for chunk_sizes, threads in [((1, 77, 4096), 2), ((65280, 65281), 4), ((333,), 3)]:
        again, _ = compress(genome_text, chunk_sizes=chunk_sizes, threads=threads)
        assert again == reference


def test_incompressible_input_still_fits_a_block():
    data = os.urandom(BLOCK_INPUT_SIZE)
    block = compress_block(data, 1)
    assert len(block) <= 65536
    assert gzip.decompress(block) == data


@pytest.mark.parametrize("level", [-1, 13, "1"])
def test_unknown_levels_are_refused(level):
    with pytest.raises(InvalidOptions):
        BgzfWriter(lambda block: None, level=level)
