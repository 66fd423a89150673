"""DRS routes, mounted at /ga4gh/drs/v1/ and, for older clients, /fasta/."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("service-info", views.ServiceInfoView.as_view()),
    path("objects", views.BulkObjectsView.as_view()),
    path("objects/access", views.BulkAccessView.as_view()),
    path("objects/<str:object_id>", views.ObjectView.as_view()),
    path("objects/<str:object_id>/access/<str:access_id>", views.AccessView.as_view()),
    re_path(r"^.*$", views.unknown_path),
]
