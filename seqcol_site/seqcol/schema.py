"""The seqcol schema this registry serves, and the API's OpenAPI document."""

SEQCOL_SPEC_VERSION = "1.0.0"
REFGET_SPEC_VERSION = "2.0.0"

_DIGEST = {"type": "string", "description": "A sha512t24u digest."}

SEQCOL_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema",
    "description": "A set of biological sequences: one reference genome.",
    "type": "object",
    "properties": {
        "lengths": {
            "type": "array",
            "collated": True,
            "description": "Length of each sequence, in bases.",
            "items": {"type": "integer", "minimum": 0},
        },
        "names": {
            "type": "array",
            "collated": True,
            "description": "Name of each sequence, such as a chromosome name.",
            "items": {"type": "string"},
        },
        "sequences": {
            "type": "array",
            "collated": True,
            "description": "Refget digest (SQ. + sha512t24u) of each sequence.",
            "items": {"type": "string"},
        },
        "name_length_pairs": {
            "type": "array",
            "collated": True,
            "description": "Name and length of each sequence, in order.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "length": {"type": "integer", "minimum": 0},
                },
                "required": ["name", "length"],
            },
        },
        "sorted_name_length_pairs": {
            "type": "array",
            "collated": False,
            "description": (
                "Digests of the name-length pairs, sorted: the coordinate "
                "system, whatever the order of the sequences."
            ),
            "items": _DIGEST,
        },
        "sorted_sequences": {
            "type": "array",
            "collated": False,
            "description": "The sequence digests, sorted.",
            "items": {"type": "string"},
        },
    },
    "required": ["names", "lengths", "sequences"],
    "ga4gh": {
        "inherent": ["names", "sequences"],
        "transient": ["sorted_name_length_pairs"],
        "passthru": [],
    },
}


def _get(summary, parameters=(), responses=None, **extra):
    operation = {
        "summary": summary,
        "parameters": list(parameters),
        "responses": responses
        or {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "404": {"description": "Not found"},
        },
    }
    operation.update(extra)
    return {"get": operation}


def _path_parameter(name, description):
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


def _query_parameter(name, description, schema):
    return {"name": name, "in": "query", "schema": schema, "description": description}


_DIGEST_PARAMETER = _path_parameter("digest", "A seqcol (top-level) digest.")
_PAGING = (
    _query_parameter("page", "Page number, from 0.", {"type": "integer", "minimum": 0}),
    _query_parameter(
        "page_size",
        "Results per page.",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    ),
)
_FILTERS = tuple(
    _query_parameter(
        name, f"Only collections whose {name} digest is this.", {"type": "string"}
    )
    for name in SEQCOL_SCHEMA["properties"]
)
_KIND = _path_parameter("kind", "collection or sequence.")


def openapi_document(version):
    """The OpenAPI 3 description of the seqcol and sequences endpoints."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "seqcol registry",
            "version": version,
            "description": (
                f"GA4GH sequence collections {SEQCOL_SPEC_VERSION} and refget "
                f"sequences {REFGET_SPEC_VERSION}, served from a RefgetStore. "
                "Every collection is also a GA4GH DRS object whose FASTA file "
                "is generated on first request (see the DRS service-info)."
            ),
        },
        "paths": {
            "/service-info": _get("GA4GH service-info, with the seqcol schema"),
            "/openapi.json": _get("This document"),
            "/collection/{digest}": _get(
                "A collection at level 1 (attribute digests) or 2 (arrays)",
                [
                    _DIGEST_PARAMETER,
                    _query_parameter(
                        "level", "1 or 2.", {"type": "integer", "enum": [1, 2]}
                    ),
                ],
                responses={
                    "200": {
                        "description": "The collection; a Link header names its "
                        "FASTA DRS object",
                        "content": {"application/json": {}},
                    },
                    "400": {"description": "Bad level"},
                    "404": {"description": "Unknown digest"},
                },
            ),
            "/attribute/collection/{attribute}/{digest}": _get(
                "The value of one attribute, by the attribute's own digest",
                [
                    _path_parameter("attribute", "names, lengths, sequences, ..."),
                    _path_parameter("digest", "The attribute's level-1 digest."),
                ],
            ),
            "/comparison/{digest1}/{digest2}": _get(
                "Compare two collections of this registry",
                [
                    _path_parameter("digest1", "Collection a."),
                    _path_parameter("digest2", "Collection b."),
                ],
            ),
            "/comparison/{digest1}": {
                "post": {
                    "summary": "Compare a collection of this registry with a "
                    "level-2 collection in the body",
                    "parameters": [_path_parameter("digest1", "Collection a.")],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": SEQCOL_SCHEMA}},
                    },
                    "responses": {
                        "200": {"description": "OK"},
                        "400": {"description": "The body is not a collection"},
                        "404": {"description": "Unknown digest"},
                    },
                }
            },
            "/list/collection": _get(
                "Collection digests, paged; filters combine with AND",
                [*_PAGING, *_FILTERS],
                responses={
                    "200": {"description": "OK"},
                    "400": {"description": "Bad paging or unknown filter"},
                },
            ),
            "/list/attributes/{attribute}": _get(
                "The distinct digests of one attribute, paged",
                [_path_parameter("attribute", "An attribute name."), *_PAGING],
            ),
            "/alias/{kind}/{namespace}/{alias}": _get(
                "The digest a namespace:alias names",
                [
                    _KIND,
                    _path_parameter("namespace", "Alias namespace."),
                    _path_parameter("alias", "Alias."),
                ],
            ),
            "/aliases/{kind}/{digest}": _get(
                "The aliases of a digest", [_KIND, _DIGEST_PARAMETER]
            ),
            "/list/alias/{kind}": _get("Alias namespaces", [_KIND]),
            "/list/alias/{kind}/{namespace}": _get(
                "Aliases of one namespace",
                [_KIND, _path_parameter("namespace", "Alias namespace.")],
            ),
            "/sequence/service-info": _get("refget sequences service-info"),
            "/sequence/{digest}": _get(
                "Bases of a sequence, whole or a range; streamed",
                [
                    _path_parameter(
                        "digest", "SQ.-prefixed or bare sha512t24u, or MD5."
                    ),
                    _query_parameter(
                        "start", "0-based, inclusive.", {"type": "integer"}
                    ),
                    _query_parameter("end", "0-based, exclusive.", {"type": "integer"}),
                    {
                        "name": "Range",
                        "in": "header",
                        "schema": {"type": "string"},
                        "description": "bytes=FIRST-LAST, 0-based, inclusive.",
                    },
                ],
                responses={
                    "200": {
                        "description": "The bases",
                        "content": {"text/vnd.ga4gh.refget.v2.0.0+plain": {}},
                    },
                    "206": {"description": "The bases of the Range"},
                    "400": {"description": "Bad start, end or Range"},
                    "404": {"description": "Unknown sequence"},
                    "406": {"description": "Unsupported Accept"},
                    "416": {"description": "Range outside the sequence"},
                },
            ),
            "/sequence/{digest}/metadata": _get(
                "Length, digests and aliases of a sequence",
                [_path_parameter("digest", "A sequence digest.")],
            ),
        },
    }
