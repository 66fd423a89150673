"""DRS errors: one class per status, rendered as ``{"msg", "status_code"}``.

`exception_handler` is the REST framework handler for the DRS views. It
renders these and REST framework's own errors (bad JSON, wrong content
type, wrong method) in the DRS error body, and adds ``Retry-After`` where
the error carries one.
"""

import logging

from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DrsError(exceptions.APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "The server could not answer the request."
    retry_after = None


class BadRequest(DrsError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is malformed."


class NotFound(DrsError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "No such DRS object."


class RequestTooLarge(DrsError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The bulk request names too many objects."


class GenerationFailed(DrsError):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "The FASTA file could not be generated."


class ServiceUnavailable(DrsError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The generation service is busy; try again later."

    def __init__(self, detail=None, retry_after=30):
        super().__init__(detail)
        self.retry_after = retry_after


def error_body(message, status_code):
    return {"msg": str(message), "status_code": status_code}


def exception_handler(exc, context):
    """Render any error of a DRS view as a DRS error body."""
    if not isinstance(exc, exceptions.APIException):
        logger.exception("unexpected error in a DRS view")
        return Response(error_body(DrsError.default_detail, 500), status=500)
    if isinstance(exc, exceptions.NotFound) and not isinstance(exc, DrsError):
        exc = NotFound()
    headers = {}
    retry_after = getattr(exc, "retry_after", None) or getattr(exc, "wait", None)
    if retry_after:
        headers["Retry-After"] = str(int(retry_after))
    detail = exc.detail
    if isinstance(detail, dict | list):
        detail = exc.default_detail
    return Response(
        error_body(detail, exc.status_code), status=exc.status_code, headers=headers
    )
