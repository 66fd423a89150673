"""URL routes of the site: DRS (at the spec's base path and at /fasta/) and
the Django admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("ga4gh/drs/v1/", include("fasta_drs.drs.urls")),
    path("fasta/", include("fasta_drs.drs.urls")),
    path("admin/", admin.site.urls),
]
