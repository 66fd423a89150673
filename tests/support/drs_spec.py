"""Validate responses against the GA4GH DRS 1.5.0 OpenAPI description.

The spec is read from ``shared/specs/drs/`` beside the repository, where
the project keeps the specifications it implements.
"""

import json
from functools import cache
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "specs"
    / "drs"
    / "drs-1.5.0.openapi.json"
)
_URI = "urn:drs-1.5.0"


@cache
def spec():
    if not SPEC.exists():
        raise FileNotFoundError(
            f"The DRS spec is expected at {SPEC}, in shared/specs/drs/ beside "
            "the repository."
        )
    return json.loads(SPEC.read_text())


@cache
def _registry():
    return Registry().with_resource(
        _URI, Resource(contents=spec(), specification=DRAFT4)
    )


def _resolve(node):
    while "$ref" in node:
        node = _registry().resolver(_URI).lookup(_URI + node["$ref"]).contents
    return node


def validate(path_template, method, response):
    """Check status, headers and body of a Django test response."""
    operation = spec()["paths"][path_template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method} {path_template} may not answer {status}"
    )
    assert response["Content-Type"].startswith("application/json")
    declared = _resolve(operation["responses"][status])
    if "Retry-After" in declared.get("headers", {}):
        assert response["Retry-After"].isdigit(), "Retry-After must be whole seconds"
    content = declared.get("content", {}).get("application/json")
    if content:
        schema = {"$ref": _URI + "#" + _pointer_of(content["schema"])}
        validator = jsonschema.Draft4Validator(schema, registry=_registry())
        validator.validate(response.json())


def _pointer_of(schema):
    if "$ref" in schema:
        return schema["$ref"].lstrip("#")
    # An inline schema: find it in the spec to validate it in place.
    return _find(spec(), schema, "")


def _find(node, target, pointer):
    if node is target:
        return pointer
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found = _find(
            child, target, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
        )
        if found is not None:
            return found
    return None
