"""A small URL configuration for the innovation API tests: ``firms/me/`` served by ``FirmMeWithPointsApi``, as
``config.urls`` will once the registry's route is swapped."""

from django.urls import path

from valuation.apis_innovation import FirmMeWithPointsApi, InnovationScoreListApi

urlpatterns = [
    path("api/v1/firms/me/", FirmMeWithPointsApi.as_view(), name="firm-me"),
    path("api/v1/firms/me/innovation/", InnovationScoreListApi.as_view(), name="firm-innovation-list"),
]
