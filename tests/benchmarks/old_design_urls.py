"""URLs for the DRS benchmark: the site's own, plus the old design's access
endpoint, which asks S3 whether the object exists on every request."""

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from fasta_drs.outputs import get_outputs
from seqcol_site.urls import urlpatterns as site_patterns


def head_then_presign(request, digest):
    outputs = get_outputs()
    if not outputs.exists(digest):
        return JsonResponse({"msg": "not found", "status_code": 404}, status=404)
    url = outputs.presigned_url(digest, "fasta", settings.FASTA_DRS["URL_TTL_SECONDS"])
    return JsonResponse({"url": url})


urlpatterns = [
    path("old/objects/<str:digest>/access/s3", head_then_presign),
    *site_patterns,
]
