from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("", views.data_quality, name="data_quality"),
]
