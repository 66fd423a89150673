"""DRS routes, mounted at /ga4gh/drs/v1/ and, for older clients, /fasta/."""

from django.urls import include, path, re_path
from rest_framework.renderers import JSONOpenAPIRenderer
from rest_framework.schemas import get_schema_view

from fasta_drs import generator

from . import views

api_patterns = [
    path("service-info", views.ServiceInfoView.as_view()),
    path("objects", views.BulkObjectsView.as_view()),
    path("objects/access", views.BulkAccessView.as_view()),
    path("objects/<str:object_id>", views.ObjectView.as_view()),
    path("objects/<str:object_id>/access/<str:access_id>", views.AccessView.as_view()),
]

# The schema describes the API once, at the spec's base path.
openapi = get_schema_view(
    title="seqcol FASTA DRS",
    description=(
        "GA4GH DRS 1.5 over the registry's BGZF FASTA files. The same "
        "endpoints are served under /fasta/ for older clients."
    ),
    version=generator.__version__,
    patterns=[path("ga4gh/drs/v1/", include(api_patterns))],
    renderer_classes=[JSONOpenAPIRenderer],
    authentication_classes=[],
    permission_classes=[],
)

urlpatterns = [
    path("openapi.json", openapi),
    *api_patterns,
    re_path(r"^.*$", views.unknown_path),
]
