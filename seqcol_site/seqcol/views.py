"""seqcol and refget sequences views. HTTP only: parse, look up, render.

Every answer is JSON except the bases of a sequence. Errors answer
``{"msg", "status_code"}``, the same body as the site's DRS API.
"""

import json
import logging
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from fasta_drs import generator
from fasta_drs.generator import StoreUnavailable
from fasta_drs.registry import ATTRIBUTES, get_registry

from . import comparison, schema
from .ranges import RangeError, requested_span

logger = logging.getLogger(__name__)

_SEQCOL_DIGEST = re.compile(r"[A-Za-z0-9_-]{32}")
TRANSIENT = tuple(schema.SEQCOL_SCHEMA["ga4gh"]["transient"])
ALIAS_KINDS = ("collection", "sequence")
MAX_PAGE_SIZE = 1000
SEQUENCE_TYPE = "text/vnd.ga4gh.refget.v2.0.0+plain"
_ACCEPTED_TYPES = {SEQUENCE_TYPE, "text/plain", "text/*", "*/*"}
STORE_RETRY_SECONDS = 30


class SeqcolError(Exception):
    """An answer other than 200, with the message the client sees."""

    def __init__(self, message, status_code, headers=None):
        super().__init__(message)
        self.status_code = status_code
        self.headers = headers or {}


def error_response(message, status_code, headers=None):
    response = JsonResponse(
        {"msg": str(message), "status_code": status_code}, status=status_code
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
class SeqcolView(View):
    """Base view: JSON errors for every failure, never a traceback."""

    http_method_names = ("get", "head", "options")

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except SeqcolError as exc:
            return error_response(exc, exc.status_code, exc.headers)
        except StoreUnavailable as exc:
            logger.warning("seqcol request failed: store unavailable: %s", exc)
            return error_response(
                "The sequence store cannot be read just now; retry later.",
                503,
                {"Retry-After": str(STORE_RETRY_SECONDS)},
            )
        except Exception:
            logger.exception("unexpected error in a seqcol view")
            return error_response("The server could not answer the request.", 500)

    def http_method_not_allowed(self, request, *args, **kwargs):
        allowed = ", ".join(m.upper() for m in self._allowed_methods())
        return error_response(
            f"{request.method} is not allowed here; use {allowed}.",
            405,
            {"Allow": allowed},
        )


def _level1_record(registry, digest):
    """Return the level-1 record of ``digest``, or answer 404."""
    catalog = registry.catalog()
    record = catalog.level1.get(digest) if _SEQCOL_DIGEST.fullmatch(digest) else None
    if record is None:
        raise SeqcolError(
            f"No collection {digest[:64]!r} in this registry. A seqcol digest "
            "has 32 characters; /list/collection lists them.",
            404,
        )
    return record


def level1(record):
    return {name: record[name] for name in ATTRIBUTES}


def level2(collection):
    """The arrays of a collection, with the derived attributes."""
    return comparison.with_derived_attributes(
        {
            "names": list(collection.names),
            "lengths": list(collection.lengths),
            "sequences": [f"SQ.{digest}" for digest in collection.sequences],
        }
    )


def _level2_of(registry, digest):
    collection = registry.collection(digest)
    if collection is None:
        raise SeqcolError(f"No collection {digest!r} in this registry.", 404)
    return level2(collection)


def _page(request, values):
    page = _parameter_number(request, "page", 0, minimum=0)
    size = _parameter_number(request, "page_size", 100, minimum=1)
    if size > MAX_PAGE_SIZE:
        raise SeqcolError(f"page_size can be at most {MAX_PAGE_SIZE}.", 400)
    return {
        "results": list(values[page * size : (page + 1) * size]),
        "pagination": {"page": page, "page_size": size, "total": len(values)},
    }


def _parameter_number(request, name, default, minimum):
    text = request.GET.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise SeqcolError(
            f"{name} must be a whole number of at least {minimum}, not {text[:40]!r}.",
            400,
        )
    return int(text)


def drs_object_url(request, digest):
    return request.build_absolute_uri(f"/ga4gh/drs/v1/objects/{digest}")


def seqcol_url(request, path):
    return request.build_absolute_uri(f"/{settings.SEQCOL['PREFIX']}{path}")


def _organization():
    hostname = settings.FASTA_DRS["HOSTNAME"]
    return {"name": hostname, "url": f"http://{hostname}/"}


class ServiceInfoView(SeqcolView):
    def get(self, request):
        catalog = get_registry().catalog()
        return JsonResponse(
            {
                "id": "org.ga4gh.seqcol-fasta-drs.seqcol",
                "name": "seqcol registry",
                "type": {
                    "group": "org.ga4gh",
                    "artifact": "refget-seqcol",
                    "version": schema.SEQCOL_SPEC_VERSION,
                },
                "description": (
                    "Sequence collections of a RefgetStore, each also a GA4GH "
                    "DRS object whose BGZF FASTA file is made on first request."
                ),
                "organization": _organization(),
                "version": generator.__version__,
                "documentationUrl": seqcol_url(request, "openapi.json"),
                "seqcol": {
                    "schema": schema.SEQCOL_SCHEMA,
                    "sorted_name_length_pairs": True,
                    "collections": len(catalog),
                    "fasta_drs": {
                        "service_info": request.build_absolute_uri(
                            "/ga4gh/drs/v1/service-info"
                        ),
                        "objects": drs_object_url(request, "{digest}"),
                    },
                },
                "refget": {
                    "service_info": seqcol_url(request, "sequence/service-info"),
                },
            }
        )


class OpenApiView(SeqcolView):
    def get(self, request):
        document = schema.openapi_document(generator.__version__)
        document["servers"] = [{"url": seqcol_url(request, "").rstrip("/")}]
        return JsonResponse(document)


class CollectionView(SeqcolView):
    def get(self, request, digest):
        level = request.GET.get("level", "2")
        if level not in ("1", "2"):
            raise SeqcolError(
                f"level must be 1 or 2, not {level[:20]!r}. Level 2 is the "
                "default; sequences themselves are at /sequence/.",
                400,
            )
        registry = get_registry()
        record = _level1_record(registry, digest)
        body = level1(record) if level == "1" else _level2_of(registry, digest)
        response = JsonResponse(body)
        response["Link"] = (
            f'<{drs_object_url(request, digest)}>; rel="alternate"; '
            'type="application/json"; title="FASTA file (GA4GH DRS object)"'
        )
        return response


class AttributeView(SeqcolView):
    def get(self, request, attribute, digest):
        if attribute in TRANSIENT:
            raise SeqcolError(
                f"{attribute} is a transient attribute: only its digest is kept, "
                "so it has no value to return.",
                404,
            )
        if attribute not in ATTRIBUTES:
            raise SeqcolError(
                f"No attribute {attribute[:64]!r}; the attributes are "
                f"{', '.join(ATTRIBUTES)}.",
                404,
            )
        registry = get_registry()
        holders = registry.catalog().by_attribute[attribute].get(digest)
        if not holders:
            raise SeqcolError(
                f"No collection has a {attribute} attribute of digest {digest[:64]!r}.",
                404,
            )
        return JsonResponse(_level2_of(registry, holders[0])[attribute], safe=False)


class ComparisonView(SeqcolView):
    http_method_names = ("get", "post", "head", "options")

    def get(self, request, digest1, digest2=None):
        if digest2 is None:
            raise SeqcolError(
                "Compare two collections with GET /comparison/A/B, or POST a "
                "level-2 collection to /comparison/A.",
                405,
                {"Allow": "POST"},
            )
        registry = get_registry()
        _level1_record(registry, digest1)
        _level1_record(registry, digest2)
        result = comparison.compare(
            _level2_of(registry, digest1), _level2_of(registry, digest2)
        )
        return JsonResponse({"digests": {"a": digest1, "b": digest2}, **result})

    def post(self, request, digest1, digest2=None):
        if digest2 is not None:
            raise SeqcolError(
                "POST compares with the collection in the body: /comparison/A.",
                405,
                {"Allow": "GET"},
            )
        registry = get_registry()
        _level1_record(registry, digest1)
        posted = comparison.with_derived_attributes(_posted_collection(request))
        result = comparison.compare(_level2_of(registry, digest1), posted)
        digests = {"a": digest1, "b": comparison.top_level_digest(posted)}
        return JsonResponse({"digests": digests, **result})


def _posted_collection(request):
    try:
        body = json.loads(request.body or b"null")
    except RequestDataTooBig:
        raise SeqcolError(
            "The collection in the body is too large for this server.", 413
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise SeqcolError("The body must be JSON: a level-2 collection.", 400) from None
    if not isinstance(body, dict) or not body:
        raise SeqcolError(
            "The body must be a level-2 collection: an object of arrays such as "
            '{"names": [...], "lengths": [...], "sequences": [...]}.',
            400,
        )
    not_arrays = [name for name, value in body.items() if not isinstance(value, list)]
    if not_arrays:
        raise SeqcolError(
            f"Attributes of a level-2 collection are arrays; "
            f"{', '.join(not_arrays[:5])} is not.",
            400,
        )
    names, lengths = body.get("names"), body.get("lengths")
    if names is not None and lengths is not None and len(names) != len(lengths):
        raise SeqcolError("names and lengths must have the same number of items.", 400)
    return body


class ListCollectionsView(SeqcolView):
    def get(self, request):
        unknown = set(request.GET) - {"page", "page_size", *ATTRIBUTES}
        if unknown:
            raise SeqcolError(
                f"Unknown filter {sorted(unknown)[0][:40]!r}; filter by "
                f"{', '.join(ATTRIBUTES)}.",
                400,
            )
        filters = {
            name: request.GET[name] for name in ATTRIBUTES if name in request.GET
        }
        catalog = get_registry().catalog()
        return JsonResponse(_page(request, catalog.matching(filters)))


class ListAttributesView(SeqcolView):
    def get(self, request, attribute):
        if attribute not in ATTRIBUTES:
            raise SeqcolError(
                f"No attribute {attribute[:64]!r}; the attributes are "
                f"{', '.join(ATTRIBUTES)}.",
                404,
            )
        catalog = get_registry().catalog()
        return JsonResponse(_page(request, catalog.attribute_values[attribute]))


def _alias_kind(kind):
    if kind not in ALIAS_KINDS:
        raise SeqcolError(
            f"kind must be collection or sequence, not {kind[:20]!r}.", 404
        )


class AliasView(SeqcolView):
    def get(self, request, kind, namespace, alias):
        _alias_kind(kind)
        digest = get_registry().resolve_alias(kind, namespace, alias)
        if digest is None:
            raise SeqcolError(f"No {kind} alias {namespace}:{alias}.", 404)
        return JsonResponse({"namespace": namespace, "alias": alias, "digest": digest})


class AliasesOfView(SeqcolView):
    def get(self, request, kind, digest):
        _alias_kind(kind)
        registry = get_registry()
        if kind == "collection":
            _level1_record(registry, digest)
        elif registry.sequence(digest) is None:
            raise SeqcolError(f"No sequence {digest[:64]!r} in this registry.", 404)
        pairs = registry.aliases_of(kind, digest)
        return JsonResponse(
            {
                "digest": digest,
                "aliases": [
                    {"namespace": namespace, "alias": alias}
                    for namespace, alias in pairs
                ],
            }
        )


class AliasNamespacesView(SeqcolView):
    def get(self, request, kind, namespace=None):
        _alias_kind(kind)
        registry = get_registry()
        if namespace is None:
            return JsonResponse({"namespaces": registry.alias_namespaces(kind)})
        aliases = registry.aliases_in(kind, namespace)
        if aliases is None:
            raise SeqcolError(f"No {kind} alias namespace {namespace[:64]!r}.", 404)
        return JsonResponse({"namespace": namespace, "aliases": aliases})


def _known_sequence(registry, digest):
    sequence = registry.sequence(digest) if len(digest) <= 64 else None
    if sequence is None:
        raise SeqcolError(
            f"No sequence {digest[:64]!r} in this registry. Ask by sha512t24u "
            "digest (with or without SQ.) or by MD5.",
            404,
        )
    return sequence


def _accepts_bases(request):
    accept = request.headers.get("Accept")
    if not accept:
        return True
    offered = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(offered & _ACCEPTED_TYPES)


class SequenceView(SeqcolView):
    def get(self, request, digest):
        registry = get_registry()
        sequence = _known_sequence(registry, digest)
        if not _accepts_bases(request):
            raise SeqcolError(
                f"Sequences are served as {SEQUENCE_TYPE} or text/plain.", 406
            )
        try:
            span = requested_span(
                sequence.length,
                request.GET.get("start"),
                request.GET.get("end"),
                request.headers.get("Range"),
            )
        except RangeError as exc:
            headers = {}
            if exc.status_code == 416:
                headers["Content-Range"] = f"bytes */{sequence.length}"
            raise SeqcolError(exc, exc.status_code, headers) from None
        status = 206 if span.partial else 200
        content_type = f"{SEQUENCE_TYPE}; charset=us-ascii"
        if not len(span) or request.method == "HEAD":
            response = HttpResponse(b"", status=status, content_type=content_type)
            response["Content-Length"] = str(len(span))
        else:
            chunks = registry.stream_sequence(sequence, span.start, span.end)
            response = StreamingHttpResponse(
                (chunk.encode("ascii") for chunk in chunks),
                status=status,
                content_type=content_type,
            )
            response["Content-Length"] = str(len(span))
        if span.partial:
            response["Content-Range"] = (
                f"bytes {span.start}-{span.end - 1}/{sequence.length}"
            )
        response["Accept-Ranges"] = "bytes"
        return response


class SequenceMetadataView(SeqcolView):
    def get(self, request, digest):
        sequence = _known_sequence(get_registry(), digest)
        return JsonResponse(
            {
                "metadata": {
                    "md5": sequence.md5,
                    "ga4gh": f"SQ.{sequence.sha512t24u}",
                    "length": sequence.length,
                    "aliases": [
                        {"alias": alias, "naming_authority": namespace}
                        for namespace, alias in sequence.aliases
                    ],
                }
            }
        )


class SequenceServiceInfoView(SeqcolView):
    def get(self, request):
        return JsonResponse(
            {
                "id": "org.ga4gh.seqcol-fasta-drs.refget",
                "name": "refget sequences",
                "type": {
                    "group": "org.ga4gh",
                    "artifact": "refget",
                    "version": schema.REFGET_SPEC_VERSION,
                },
                "organization": _organization(),
                "version": generator.__version__,
                "refget": {
                    "circular_supported": False,
                    "subsequence_limit": None,
                    "algorithms": ["md5", "ga4gh"],
                    "identifier_types": [],
                },
            }
        )


def unknown_path(request, path=""):
    return error_response(
        f"No seqcol endpoint /{settings.SEQCOL['PREFIX']}{path[:100]}; "
        "see openapi.json for the API.",
        404,
    )
