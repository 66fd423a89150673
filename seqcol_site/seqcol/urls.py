"""seqcol and refget sequences routes, mounted at settings.SEQCOL["PREFIX"]."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("service-info", views.ServiceInfoView.as_view()),
    path("openapi.json", views.OpenApiView.as_view()),
    path("collection/<str:digest>", views.CollectionView.as_view()),
    path(
        "attribute/collection/<str:attribute>/<str:digest>",
        views.AttributeView.as_view(),
    ),
    path("comparison/<str:digest1>", views.ComparisonView.as_view()),
    path("comparison/<str:digest1>/<str:digest2>", views.ComparisonView.as_view()),
    path("list/collection", views.ListCollectionsView.as_view()),
    path("list/attributes/<str:attribute>", views.ListAttributesView.as_view()),
    path("alias/<str:kind>/<str:namespace>/<str:alias>", views.AliasView.as_view()),
    path("aliases/<str:kind>/<str:digest>", views.AliasesOfView.as_view()),
    path("list/alias/<str:kind>", views.AliasNamespacesView.as_view()),
    path("list/alias/<str:kind>/<str:namespace>", views.AliasNamespacesView.as_view()),
    path("sequence/service-info", views.SequenceServiceInfoView.as_view()),
    path("sequence/<str:digest>", views.SequenceView.as_view()),
    path("sequence/<str:digest>/metadata", views.SequenceMetadataView.as_view()),
    re_path(r"^(?P<path>.*)$", views.unknown_path),
]
