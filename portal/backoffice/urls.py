from django.urls import path

from portal.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("", views.province_dashboard, name="province"),
]
