from django.urls import path

from fit import views

app_name = "fit"

urlpatterns = [
    path("", views.fit, name="fit"),
    path("profile/", views.profile_save, name="profile"),
    path("train/", views.train, name="train"),
    path("lookalikes/mark/", views.mark, name="mark"),
    path("lookalikes/mark/apply/", views.mark_apply, name="mark_apply"),
]
