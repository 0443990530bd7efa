from django.urls import path

from portal.firm import views

app_name = "portal_firm"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
