"""Which bases a refget sequence request asks for."""

import pytest

from seqcol_site.seqcol.ranges import RangeError, Span, requested_span


@pytest.mark.parametrize(
    ("arguments", "span"),
    [
        ({}, Span(0, 100)),
        ({"start": "10"}, Span(10, 100)),
        ({"end": "10"}, Span(0, 10)),
        ({"start": "10", "end": "10"}, Span(10, 10)),
        ({"start": "99", "end": "100"}, Span(99, 100)),
        ({"range_header": "bytes=0-0"}, Span(0, 1, partial=True)),
        ({"range_header": "bytes=90-"}, Span(90, 100, partial=True)),
        ({"range_header": "bytes=90-500"}, Span(90, 100, partial=True)),
        ({"range_header": "bytes=-10"}, Span(90, 100, partial=True)),
        ({"range_header": "bytes=-500"}, Span(0, 100, partial=True)),
    ],
)
def test_spans(arguments, span):
    assert requested_span(100, **arguments) == span


@pytest.mark.parametrize(
    ("arguments", "status"),
    [
        ({"start": "x"}, 400),
        ({"start": "1.5"}, 400),
        ({"end": "-1"}, 400),
        ({"start": "1", "range_header": "bytes=0-1"}, 400),
        ({"range_header": "bytes=-"}, 400),
        ({"range_header": "bytes=5-2"}, 400),
        ({"range_header": "bytes=0-1,3-4"}, 400),
        ({"start": "100"}, 416),
        ({"end": "101"}, 416),
        ({"start": "50", "end": "40"}, 416),
        ({"range_header": "bytes=100-"}, 416),
        ({"range_header": "bytes=-0"}, 416),
    ],
)
def test_refused_spans(arguments, status):
    with pytest.raises(RangeError) as raised:
        requested_span(100, **arguments)
    assert raised.value.status_code == status
