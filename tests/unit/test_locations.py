"""Parsing store and output locations."""

import pytest

from fasta_drs.generator.errors import InvalidOptions
from fasta_drs.generator.locations import parse_location


def test_s3_location_gets_a_trailing_slash_and_the_default_prefix():
    assert parse_location("s3://genomes/store").prefix == "store/"
    assert parse_location("s3://genomes", default_prefix="fasta/").prefix == "fasta/"
    assert parse_location("s3://genomes/a/b/").key("x.json") == "a/b/x.json"


def test_https_and_directories_are_recognised(tmp_path):
    assert (
        parse_location("https://example.org/store/").url == "https://example.org/store"
    )
    assert parse_location(str(tmp_path)).path == tmp_path


@pytest.mark.parametrize(
    "text",
    ["", "s3://", "s3://A_Bad_Bucket/x", "s3://ab/x", "ftp://host/x", "https://"],
)
def test_bad_locations_are_refused_with_a_clear_error(text):
    with pytest.raises(InvalidOptions):
        parse_location(text)
