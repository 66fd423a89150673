"""BGZF compression: gzip members small enough to index, made in parallel.

BGZF (the SAM/BAM specification, section 4.1) is a series of gzip members,
each holding at most 64 KiB and naming its own compressed size in a ``BC``
extra field, followed by an empty end-of-file member. Any gzip reader
decompresses it; htslib (samtools, pysam) seeks in it through a ``.gzi``
index of block offsets.

Input is cut at fixed 65280-byte boundaries (htslib's own block size)
whatever the chunks it arrives in, and every header field is fixed, so the
output depends only on the input, the level and the libdeflate version.
Blocks are compressed by a thread pool (libdeflate releases the GIL) and
written in order by the thread that feeds them.

libdeflate is used rather than ISA-L, which is faster per core: python-isal
hands ISA-L an uninitialised work buffer, so its output changes with what
that memory held before, and compressing in threads makes that vary from
run to run. libdeflate's output is a function of its input and level only.
"""

import struct
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import deflate

from .errors import InvalidOptions

BLOCK_INPUT_SIZE = 0xFF00  # 65280, htslib's BGZF_BLOCK_SIZE
_MAX_BLOCK_SIZE = 0x10000
_HEADER_SIZE = 18
_FOOTER_SIZE = 8
_MAX_DEFLATE_SIZE = _MAX_BLOCK_SIZE - _HEADER_SIZE - _FOOTER_SIZE

# gzip header with FEXTRA set, MTIME 0, OS "unknown", and the BC subfield;
# the trailing H is BSIZE, the whole block's size minus one.
_HEADER = struct.Struct("<BBBBIBBHBBHH")
_FOOTER = struct.Struct("<II")
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

# Blocks compressed per pool task: fewer, larger tasks keep the GIL free of
# executor bookkeeping (a future, a condition and a lock per task).
_BATCH_BLOCKS = 16

LEVELS = tuple(range(13))  # libdeflate's levels; 0 stores without compressing
# Level 1 is libdeflate's fastest and still within 10% of gzip -6 in size on
# genomes; higher levels cost far more time than they save bytes.
DEFAULT_LEVEL = 1
LIBRARY = f"libdeflate (deflate {deflate.__version__})"


def compress_block(data, level):
    """Return one BGZF block holding ``data`` (at most 65280 bytes)."""
    deflated = deflate.deflate_compress(data, level)
    if len(deflated) > _MAX_DEFLATE_SIZE:
        # Incompressible input: stored deflate blocks always fit.
        deflated = zlib.compress(data, 0, -15)
    block_size = _HEADER_SIZE + len(deflated) + _FOOTER_SIZE
    header = _HEADER.pack(31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, block_size - 1)
    footer = _FOOTER.pack(deflate.crc32(data), len(data))
    return b"".join((header, deflated, footer))


def check_level(level):
    """Raise `InvalidOptions` unless ``level`` is an ISA-L level."""
    if level not in LEVELS:
        raise InvalidOptions(
            f"The compression level must be 0 to {LEVELS[-1]} (libdeflate levels), "
            f"not {level!r}."
        )


class BgzfWriter:
    """Compress a byte stream into BGZF, handing blocks to ``sink`` in order.

    The caller's thread only cuts blocks. A pool compresses them, and one
    writer thread waits for each in turn and calls ``sink`` with it, so
    hashing and uploading the output overlap with reading the input. Data
    passed to `write` must not change afterwards (bytes do not).

    Args:
        sink: Called with each compressed block, in output order, on the
            writer thread.
        level: libdeflate level.
        threads: Compression threads.
        queue_batches: Batches of 16 blocks (1 MiB of input) in flight at
            most; bounds memory.
    """

    def __init__(self, sink, *, level=DEFAULT_LEVEL, threads=2, queue_batches=None):
        check_level(level)
        self._sink = sink
        self._level = level
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bgzf")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bgzf-out")
        self._pending = deque()
        self._limit = queue_batches or threads * 4
        self._buffer = bytearray()
        self._batch = []
        self.compressed_offset = 0
        self.uncompressed_offset = 0
        self.blocks = 0
        self._index = []  # (compressed, uncompressed) of each block but the first

    def write(self, data):
        """Add ``data`` to the stream."""
        view = memoryview(data)
        if self._buffer:
            room = BLOCK_INPUT_SIZE - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) < BLOCK_INPUT_SIZE:
                return
            self._add(bytes(self._buffer))
            self._buffer.clear()
        whole = len(view) - len(view) % BLOCK_INPUT_SIZE
        for start in range(0, whole, BLOCK_INPUT_SIZE):
            self._add(view[start : start + BLOCK_INPUT_SIZE])
        self._buffer += view[whole:]

    def close(self):
        """Flush every block and the end-of-file marker."""
        if self._buffer:
            self._add(bytes(self._buffer))
            self._buffer.clear()
        self._submit()
        while self._pending:
            self._pending.popleft().result()
        self._pool.shutdown()
        self._writer.shutdown()
        self._sink(EOF_BLOCK)
        self.compressed_offset += len(EOF_BLOCK)

    def cancel(self):
        """Drop blocks in flight and stop the threads."""
        for delivery in self._pending:
            delivery.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True, cancel_futures=True)

    def gzi(self):
        """Return the ``.gzi`` index as bgzip writes it."""
        parts = [struct.pack("<Q", len(self._index))]
        parts.extend(struct.pack("<QQ", *entry) for entry in self._index)
        return b"".join(parts)

    def _add(self, block):
        self._batch.append(block)
        if len(self._batch) == _BATCH_BLOCKS:
            self._submit()

    def _submit(self):
        """Hand the blocks gathered so far to the pool as one task."""
        if not self._batch:
            return
        batch, self._batch = self._batch, []
        compressed = self._pool.submit(_compress_sized, batch, self._level)
        self._pending.append(self._writer.submit(self._deliver, compressed))
        while self._pending and (
            len(self._pending) > self._limit or self._pending[0].done()
        ):
            self._pending.popleft().result()  # raises what the sink raised

    def _deliver(self, compressed):
        """Write one batch of blocks; runs on the writer thread, in order."""
        blocks = compressed.result()
        for block, size in blocks:
            if self.blocks:
                self._index.append((self.compressed_offset, self.uncompressed_offset))
            self.blocks += 1
            self.compressed_offset += len(block)
            self.uncompressed_offset += size
        self._sink(b"".join(block for block, _ in blocks))


def _compress_sized(batch, level):
    return [(compress_block(data, level), len(data)) for data in batch]
