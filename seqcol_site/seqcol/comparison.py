"""The seqcol comparison function, and the digests it needs.

Pure functions over level-2 collections (dicts of arrays); no Django.
"""

import base64
import hashlib
import json

# Attributes whose digests make up the top-level digest.
INHERENT = ("names", "sequences")


def canonical_json(value):
    """The RFC 8785 form of ``value``, for the JSON that seqcol digests:
    strings, integers, arrays and objects."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=True
    ).encode()


def sha512t24u(data):
    """The GA4GH digest: SHA-512 truncated to 24 bytes, base64url."""
    return base64.urlsafe_b64encode(hashlib.sha512(data).digest()[:24]).decode()


def top_level_digest(collection):
    """The seqcol digest of a level-2 collection, or None if it lacks an
    inherent attribute."""
    if any(name not in collection for name in INHERENT):
        return None
    level1 = {name: sha512t24u(canonical_json(collection[name])) for name in INHERENT}
    return sha512t24u(canonical_json(level1))


def with_derived_attributes(collection):
    """Add ``name_length_pairs`` and ``sorted_sequences`` to a collection
    that has what they are made from and lacks them."""
    derived = dict(collection)
    names, lengths = collection.get("names"), collection.get("lengths")
    if "name_length_pairs" not in derived and names is not None and lengths is not None:
        derived["name_length_pairs"] = [
            {"length": length, "name": name}
            for name, length in zip(names, lengths, strict=True)
        ]
    if "sorted_sequences" not in derived and collection.get("sequences") is not None:
        derived["sorted_sequences"] = sorted(collection["sequences"])
    return derived


def compare(a, b):
    """Compare two level-2 collections as the seqcol specification does.

    Returns the ``attributes`` and ``array_elements`` parts of a comparison;
    the caller adds ``digests``.
    """
    a_only = sorted(set(a) - set(b))
    b_only = sorted(set(b) - set(a))
    shared = sorted(set(a) & set(b))
    in_both, same_order = {}, {}
    for name in shared:
        in_both[name], same_order[name] = _compare_arrays(a[name], b[name])
    return {
        "attributes": {"a_only": a_only, "b_only": b_only, "a_and_b": shared},
        "array_elements": {
            "a_count": {name: len(values) for name, values in a.items()},
            "b_count": {name: len(values) for name, values in b.items()},
            "a_and_b_count": in_both,
            "a_and_b_same_order": same_order,
        },
    }


def _compare_arrays(a, b):
    """How many elements two arrays share, and whether the shared ones
    come in the same order (None when that is undefined: nothing shared,
    or shared elements repeated a different number of times)."""
    a_keys = [canonical_json(item) for item in a]
    b_keys = [canonical_json(item) for item in b]
    a_set, b_set = set(a_keys), set(b_keys)
    a_shared = [key for key in a_keys if key in b_set]
    b_shared = [key for key in b_keys if key in a_set]
    count = min(len(a_shared), len(b_shared))
    if not a_shared or len(a_shared) != len(b_shared):
        return count, None
    return count, a_shared == b_shared
