"""The comparison function and digests, against the seqcol known answers.

The refget package ships the comparison of every pair of the six
compliance collections; each must come out the same here.
"""

import json
from pathlib import Path

import pytest
import refget.compliance

from seqcol_site.seqcol.comparison import (
    compare,
    sha512t24u,
    top_level_digest,
    with_derived_attributes,
)

TESTDATA = Path(__file__).resolve().parents[3] / "shared/testdata/seqcol-compliance"
KNOWN = json.loads((TESTDATA / "test_fasta_digests.json").read_text())
BY_DIGEST = {known["top_level_digest"]: known for known in KNOWN.values()}
FIXTURES = sorted(
    (Path(refget.compliance.__file__).parent / "compliance_data/comparison").glob(
        "compare_*.fa_*.json"
    )
)


def test_every_pair_of_the_compliance_collections_is_in_the_fixtures():
    assert len(FIXTURES) == 15


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_comparison_matches_the_known_answer(fixture):
    expected = json.loads(fixture.read_text())
    a = BY_DIGEST[expected["digests"]["a"]]["level2"]
    b = BY_DIGEST[expected["digests"]["b"]]["level2"]
    assert {"digests": expected["digests"], **compare(a, b)} == expected


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_top_level_digest_and_derived_attributes(name):
    known = KNOWN[name]
    core = {key: known["level2"][key] for key in ("names", "lengths", "sequences")}
    assert top_level_digest(core) == known["top_level_digest"]
    assert with_derived_attributes(core) == known["level2"]


def test_digest_needs_the_inherent_attributes():
    assert top_level_digest({"names": ["a"], "lengths": [1]}) is None


def test_sha512t24u_of_the_empty_string():
    # The GA4GH digest of b"" (as refget's documentation gives it).
    assert sha512t24u(b"") == "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXc"


def test_repeated_elements_leave_the_order_undefined():
    result = compare({"lengths": [4, 4, 8]}, {"lengths": [4, 8]})
    assert result["array_elements"]["a_and_b_count"] == {"lengths": 2}
    assert result["array_elements"]["a_and_b_same_order"] == {"lengths": None}


def test_attributes_of_one_side_only():
    result = compare({"names": ["a"], "extra": [1]}, {"names": ["a"], "other": []})
    assert result["attributes"] == {
        "a_only": ["extra"],
        "b_only": ["other"],
        "a_and_b": ["names"],
    }
    assert result["array_elements"]["a_and_b_same_order"] == {"names": True}
