"""The exact FASTA text of a collection, and a verifier that checks it.

The text is what gtars ``export_fasta`` writes: for each sequence a header
``>name`` (plus `` description`` when there is one), then the bases in lines
of ``line_width`` with a newline after every line, the last one shorter when
the length is not a multiple of the width; an empty sequence has its header
only. Because the layout is fully known from the store's metadata, the
``.fai`` index is computed up front, and `TextVerifier` checks the stream as
it passes: every header byte for byte, every newline in its place, every
sequence's length and GA4GH ``sha512t24u`` digest.
"""

import base64
import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .errors import InvalidOptions, VerificationFailed

DEFAULT_LINE_WIDTH = 80
NEWLINE = b"\n"
# Chunks waiting for the hashing thread at most; bounds memory when hashing
# falls behind.
_HASH_QUEUE = 16


def sha512t24u(sha512_digest):
    """Return the GA4GH digest for the bytes of a finished SHA-512 digest."""
    return base64.urlsafe_b64encode(sha512_digest[:24]).decode("ascii")


@dataclass(frozen=True)
class RecordLayout:
    """Where one sequence sits in the FASTA text."""

    name: str
    header: bytes
    length: int
    sha512t24u: str
    offset: int  # of the first base, from the start of the text
    text_size: int  # bases plus newlines

    @property
    def end(self):
        return self.offset + self.text_size


class FastaLayout:
    """The layout of a collection's FASTA text at one line width."""

    def __init__(self, sequences, line_width=DEFAULT_LINE_WIDTH):
        if not isinstance(line_width, int) or line_width < 1:
            raise InvalidOptions(
                f"The line width must be at least 1, not {line_width}."
            )
        self.line_width = line_width
        records = []
        position = 0
        for entry in sequences:
            header = f">{entry.name}"
            if entry.description:
                header += f" {entry.description}"
            header = (header + "\n").encode()
            offset = position + len(header)
            text_size = entry.length + _line_count(entry.length, line_width)
            records.append(
                RecordLayout(
                    name=entry.name,
                    header=header,
                    length=entry.length,
                    sha512t24u=entry.sha512t24u,
                    offset=offset,
                    text_size=text_size,
                )
            )
            position = offset + text_size
        self.records = tuple(records)
        self.text_size = position
        self.bases = sum(record.length for record in records)

    def fai(self):
        """Return the ``.fai`` index of the text, as samtools writes it.

        samtools leaves zero-length sequences out of the index, and so does
        this: htslib cannot seek into a sequence without lines.
        """
        lines = []
        for record in self.records:
            if record.length == 0:
                continue
            line_bases = min(self.line_width, record.length)
            lines.append(
                f"{record.name}\t{record.length}\t{record.offset}\t"
                f"{line_bases}\t{line_bases + 1}\n"
            )
        return "".join(lines).encode()


def _line_count(length, line_width):
    return -(-length // line_width)


class TextVerifier:
    """Check a FASTA text, fed in chunks of any size, against its layout.

    Call `feed` with each chunk in order and `finish` at the end; either
    raises `VerificationFailed` naming the first sequence that differs.
    Layout is checked in the calling thread; SHA-512 runs in a thread of its
    own (hashlib releases the GIL), in order, so the caller goes on reading
    while bases are hashed. Call `close` to stop that thread.
    """

    def __init__(self, layout):
        self.layout = layout
        self._width = layout.line_width
        self._records = iter(layout.records)
        self._record = None
        self._in_header = True
        self._position = 0  # within the current header or sequence text
        self._hash = None
        self._bases = 0
        self.bytes_seen = 0
        self.bases_verified = 0
        self.sequences_verified = 0
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify")
        self._queued = deque()
        self._advance()

    @property
    def bases_seen(self):
        """Bases checked so far, counting the sequence under way."""
        return self.bases_verified + (0 if self._in_header else self._bases)

    def feed(self, chunk):
        """Check the next chunk of text."""
        view = memoryview(chunk)
        while view:
            if self._record is None:
                raise VerificationFailed(
                    f"The FASTA text has {len(view)} bytes after its last sequence."
                )
            if self._in_header:
                view = self._feed_header(view)
            else:
                view = self._feed_sequence(view)
        self.bytes_seen += len(chunk)

    def finish(self):
        """Check that the text ended where the layout says it ends."""
        if self._record is not None:
            raise VerificationFailed(
                f"The FASTA text ended inside sequence {self._record.name!r}: "
                f"{self.bytes_seen} of {self.layout.text_size} bytes arrived."
            )
        while self._queued:
            self._queued.popleft().result()

    def close(self):
        """Stop the hashing thread."""
        self._hasher.shutdown(wait=True, cancel_futures=True)

    def _queue(self, function, *arguments):
        """Run ``function`` on the hashing thread, after what is queued."""
        while self._queued and (
            len(self._queued) >= _HASH_QUEUE or self._queued[0].done()
        ):
            self._queued.popleft().result()  # raises a failed check
        self._queued.append(self._hasher.submit(function, *arguments))

    def _advance(self):
        """Move to the next record's header."""
        self._record = next(self._records, None)
        self._in_header = True
        self._position = 0

    def _feed_header(self, view):
        record = self._record
        take = min(len(view), len(record.header) - self._position)
        expected = record.header[self._position : self._position + take]
        if view[:take] != expected:
            raise VerificationFailed(
                f"The header of sequence {record.name!r} is not what the store "
                f"records: expected {record.header!r}."
            )
        self._position += take
        if self._position == len(record.header):
            self._in_header = False
            self._position = 0
            self._hash = hashlib.sha512()
            self._bases = 0
            if record.text_size == 0:
                self._close_sequence()
        return view[take:]

    def _feed_sequence(self, view):
        record = self._record
        take = min(len(view), record.text_size - self._position)
        piece = view[:take]
        piece = piece.obj if len(piece) == len(piece.obj) else piece.tobytes()
        bases = piece.replace(NEWLINE, b"")
        self._check_newlines(record, piece, newlines=len(piece) - len(bases))
        self._queue(self._hash.update, bases)
        self._bases += len(bases)
        self._position += take
        if self._position == record.text_size:
            self._close_sequence()
        return view[take:]

    def _check_newlines(self, record, piece, newlines):
        """Check that the piece's newlines sit where the line width says."""
        start = self._position
        stop = start + len(piece)
        width = self._width
        full_lines_end = (record.length // width) * (width + 1)

        # Newlines closing full lines sit at positions width, 2*width+1, ...
        first = start + (width - start) % (width + 1)
        limit = min(stop, full_lines_end)
        slots = piece[first - start : max(limit - start, 0) : width + 1]
        expected = len(slots)
        if slots.count(NEWLINE) != expected:
            self._fail_layout(record)

        # A shorter last line ends with the text's final byte.
        if record.length % width and start <= record.text_size - 1 < stop:
            if piece[record.text_size - 1 - start] != NEWLINE[0]:
                self._fail_layout(record)
            expected += 1
        if newlines != expected:
            self._fail_layout(record)

    def _fail_layout(self, record):
        raise VerificationFailed(
            f"Sequence {record.name!r} is not wrapped at {self._width} bases per "
            "line as the index requires."
        )

    def _close_sequence(self):
        record = self._record
        if self._bases != record.length:
            raise VerificationFailed(
                f"Sequence {record.name!r} decoded to {self._bases} bases, but the "
                f"store records {record.length}. The store is damaged; rebuild it."
            )
        self._queue(_check_digest, record, self._hash)
        self.bases_verified += record.length
        self.sequences_verified += 1
        self._advance()


def _check_digest(record, sequence_hash):
    digest = sha512t24u(sequence_hash.digest())
    if digest != record.sha512t24u:
        raise VerificationFailed(
            f"Sequence {record.name!r} decoded to bases whose digest is "
            f"{digest}, but the store records {record.sha512t24u}. The store "
            "returns wrong bases for it; rebuild the store (Raw storage mode "
            "avoids a known gtars decoding fault) and generate again."
        )
