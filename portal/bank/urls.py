from django.urls import path

from portal.bank import views

app_name = "portal_bank"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
