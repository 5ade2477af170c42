from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/<int:pk>/", views.segment_detail, name="segment_detail"),
    path("programs/", views.program_list, name="program_list"),
    path("programs/<int:pk>/", views.program_detail, name="program_detail"),
    path("me/", views.my_accounts, name="my_accounts"),
    path("influence/", views.influence, name="influence"),
]
