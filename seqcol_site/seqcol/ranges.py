"""Which bases a refget sequence request asks for.

The refget sequences API takes ``start`` and ``end`` query parameters
(0-based, half-open) or one HTTP ``Range`` header (``bytes=FIRST-LAST``,
inclusive, with RFC 9110's open-ended and suffix forms), never both.
Sequences here are linear, so a start past the end is not satisfiable.
"""

import re
from dataclasses import dataclass

_WHOLE_NUMBER = re.compile(r"[0-9]+")
_BYTE_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


class RangeError(Exception):
    """A request's bases cannot be served: 400 malformed, 416 outside."""

    def __init__(self, message, status_code):
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Span:
    """The bases ``[start, end)`` of a sequence; ``partial`` when they
    were asked for with a Range header (answered 206)."""

    start: int
    end: int
    partial: bool = False

    def __len__(self):
        return self.end - self.start


def requested_span(length, start=None, end=None, range_header=None):
    """Return the `Span` that a request's parameters ask of a sequence of
    ``length`` bases.

    Raises:
        RangeError: 400 for malformed or conflicting parameters, 416 for a
            span outside the sequence.
    """
    if range_header is not None:
        if start is not None or end is not None:
            raise RangeError(
                "Give either start and end or a Range header, not both.", 400
            )
        return _from_range_header(length, range_header.strip())
    first = _whole_number("start", start, default=0)
    stop = _whole_number("end", end, default=length)
    if start is not None and first >= length:
        raise RangeError(
            f"start {first} is past the last base; the sequence has {length}.", 416
        )
    if stop > length:
        raise RangeError(
            f"end {stop} is past the end; the sequence has {length} bases.", 416
        )
    if first > stop:
        raise RangeError(
            f"start {first} is after end {stop}; this server has no circular "
            "sequences.",
            416,
        )
    return Span(first, stop)


def _whole_number(name, text, default):
    if text is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(text):
        raise RangeError(f"{name} must be a whole number, not {text[:40]!r}.", 400)
    return int(text)


def _from_range_header(length, text):
    match = _BYTE_RANGE.fullmatch(text)
    if match is None or not (match[1] or match[2]):
        raise RangeError(
            f"Range must be one range such as bytes=0-99, not {text[:60]!r}.", 400
        )
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0 or length == 0:
            raise RangeError("The Range asks for no bases.", 416)
        return Span(max(length - suffix, 0), length, partial=True)
    first = int(match[1])
    last = int(match[2]) if match[2] else length - 1
    if match[2] and first > last:
        raise RangeError(f"The Range {text!r} ends before it starts.", 400)
    if first >= length:
        raise RangeError(
            f"The Range starts at {first}; the sequence has {length} bases.", 416
        )
    return Span(first, min(last, length - 1) + 1, partial=True)
