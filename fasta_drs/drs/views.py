"""DRS 1.5 views. HTTP only: parse, look up, render.

Every response is JSON, 202s included. A pending object answers ``202
Accepted`` with an integer ``Retry-After``; errors answer the DRS error
body through `exceptions.exception_handler`.
"""

from django.conf import settings
from django.db.models import Count, Sum
from django.http import JsonResponse
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from fasta_drs import generator
from fasta_drs.models import FastaRequest
from fasta_drs.registry import get_registry

from . import serializers
from .exceptions import BadRequest, DrsError, NotFound, RequestTooLarge, error_body
from .exceptions import exception_handler as drs_exception_handler
from .objects import ACCESS_ID, look_up, parse_object_id


class DrsView(APIView):
    authentication_classes = ()
    permission_classes = ()
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser,)

    def get_exception_handler(self):
        return drs_exception_handler

    def body(self, request):
        """The JSON body of a POST, which may be empty (passports unused)."""
        if not request.body:
            return {}
        data = request.data
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data


def _pending_response(lookup):
    return Response(
        serializers.pending(lookup),
        status=status.HTTP_202_ACCEPTED,
        headers={"Retry-After": str(lookup.retry_after)},
    )


class ServiceInfoView(DrsView):
    def get(self, request):
        ready = FastaRequest.objects.filter(state=FastaRequest.State.READY)
        totals = ready.aggregate(count=Count("id"), size=Sum("size"))
        limit = settings.FASTA_DRS["MAX_BULK"]
        hostname = settings.FASTA_DRS["HOSTNAME"]
        return Response(
            {
                "id": "org.ga4gh.seqcol-fasta-drs",
                "name": "seqcol FASTA DRS",
                "type": {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"},
                "description": (
                    "BGZF FASTA files of the sequence collections of this seqcol "
                    "registry, generated on first request."
                ),
                "organization": {"name": hostname, "url": f"http://{hostname}/"},
                "version": generator.__version__,
                "maxBulkRequestLength": limit,
                "drs": {
                    "maxBulkRequestLength": limit,
                    "objectCount": totals["count"] or 0,
                    "totalObjectSize": totals["size"] or 0,
                },
                # Object ids are seqcol digests; the registry says what
                # each one is.
                "seqcol": {
                    "service_info": request.build_absolute_uri(
                        f"/{settings.SEQCOL['PREFIX']}service-info"
                    ),
                },
            }
        )


class ObjectView(DrsView):
    def get(self, request, object_id):
        lookup = look_up(parse_object_id(object_id))
        if not lookup.ready:
            return _pending_response(lookup)
        return Response(serializers.drs_object(lookup))

    def post(self, request, object_id):
        self.body(request)
        return self.get(request, object_id)

    def options(self, request, object_id):
        parsed = parse_object_id(object_id)
        if get_registry().collection(parsed.digest) is None:
            raise NotFound(f"The registry has no collection {parsed.digest}.")
        return Response({"drs_object_id": object_id, "supported_types": ["None"]})


class AccessView(DrsView):
    def get(self, request, object_id, access_id):
        parsed = parse_object_id(object_id)
        if access_id != ACCESS_ID:
            raise NotFound(f"No access method {access_id[:64]!r}; use {ACCESS_ID!r}.")
        lookup = look_up(parsed)
        if not lookup.ready:
            return _pending_response(lookup)
        return Response(serializers.access_url(lookup))

    def post(self, request, object_id, access_id):
        self.body(request)
        return self.get(request, object_id, access_id)


def _bulk_ids(values, limit):
    if not isinstance(values, list) or not values:
        raise BadRequest("The request must list at least one object id.")
    if len(values) > limit:
        raise RequestTooLarge(
            f"The request names {len(values)} objects; the limit is {limit}."
        )
    return values


def _resolve_all(ids):
    """Look up each id: (ready lookups, pending lookups, {status: [ids]})."""
    ready, waiting, unresolved = [], [], {}
    for text in ids:
        try:
            lookup = look_up(parse_object_id(text if isinstance(text, str) else ""))
        except DrsError as exc:
            unresolved.setdefault(exc.status_code, []).append(str(text)[:100])
            continue
        (ready if lookup.ready else waiting).append(lookup)
    return ready, waiting, unresolved


def _summary(ids, resolved, unresolved):
    return {
        "summary": {
            "requested": len(ids),
            "resolved": resolved,
            "unresolved": sum(len(group) for group in unresolved.values()),
        },
        "unresolved_drs_objects": [
            {"error_code": code, "object_ids": group}
            for code, group in unresolved.items()
        ],
    }


def _bulk_pending(waiting):
    retry = max(lookup.retry_after for lookup in waiting)
    body = error_body(
        f"{len(waiting)} object(s) are being prepared; retry after {retry} s.", 202
    )
    body["pending"] = [serializers.pending(lookup) for lookup in waiting]
    return Response(
        body, status=status.HTTP_202_ACCEPTED, headers={"Retry-After": str(retry)}
    )


class BulkObjectsView(DrsView):
    def post(self, request):
        ids = _bulk_ids(
            self.body(request).get("bulk_object_ids"), settings.FASTA_DRS["MAX_BULK"]
        )
        ready, waiting, unresolved = _resolve_all(ids)
        if waiting:
            return _bulk_pending(waiting)
        body = _summary(ids, len(ready), unresolved)
        body["resolved_drs_object"] = [
            serializers.drs_object(lookup) for lookup in ready
        ]
        return Response(body)


class BulkAccessView(DrsView):
    def post(self, request):
        entries = _bulk_ids(
            self.body(request).get("bulk_object_access_ids"),
            settings.FASTA_DRS["MAX_BULK"],
        )
        wanted = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(
                entry.get("bulk_object_id"), str
            ):
                raise BadRequest(
                    "Each entry needs a bulk_object_id and bulk_access_ids."
                )
            access_ids = entry.get("bulk_access_ids") or [ACCESS_ID]
            if any(access_id != ACCESS_ID for access_id in access_ids):
                raise NotFound(f"The only access id is {ACCESS_ID!r}.")
            wanted.append(entry["bulk_object_id"])
        ready, waiting, unresolved = _resolve_all(wanted)
        if waiting:
            return _bulk_pending(waiting)
        body = _summary(wanted, len(ready), unresolved)
        body["resolved_drs_object_access_urls"] = [
            {
                "drs_object_id": lookup.object_id.text,
                "drs_access_id": ACCESS_ID,
                **serializers.access_url(lookup),
            }
            for lookup in ready
        ]
        return Response(body)


def unknown_path(request, *args, **kwargs):
    """Any other path under the DRS prefix: a DRS 404, never Django's page."""
    return JsonResponse(error_body("No such DRS endpoint or object.", 404), status=404)
