"""URL routes of the site: the seqcol registry API (at SEQCOL_PREFIX), DRS
(at the spec's base path and at /fasta/) and the Django admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.SEQCOL["PREFIX"], include("seqcol_site.seqcol.urls")),
    path("ga4gh/drs/v1/", include("fasta_drs.drs.urls")),
    path("fasta/", include("fasta_drs.drs.urls")),
    path("admin/", admin.site.urls),
]
