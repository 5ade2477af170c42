from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_page, name="import"),
    path("<int:pk>/", views.job_page, name="job"),
    path("<int:pk>/run", views.job_run, name="run"),
    path("<int:pk>/progress", views.job_progress, name="progress"),
    path("<int:pk>/preview", views.job_preview, name="preview"),
    path("<int:pk>/rejected.csv", views.job_rejected, name="rejected"),
]
