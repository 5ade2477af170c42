from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/export.csv", views.account_export, name="account_export"),
    # Mark / unmark the accounts the list's filters select: a confirmation page, then a POST.
    path("accounts/targets/mark/", views.account_targets_confirm, {"unmark": False}, name="account_targets_mark"),
    path("accounts/targets/mark/apply/", views.account_targets_apply, {"unmark": False},
         name="account_targets_mark_apply"),
    path("accounts/targets/unmark/", views.account_targets_confirm, {"unmark": True}, name="account_targets_unmark"),
    path("accounts/targets/unmark/apply/", views.account_targets_apply, {"unmark": True},
         name="account_targets_unmark_apply"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/timeline/", views.account_timeline, name="account_timeline"),
    path("segments/", views.segment_list, name="segment_list"),
    # The target list as a pseudo-segment (SegmentSnapshot with segment = None).
    path("segments/target/", views.segment_detail, name="target_segment"),
    path("segments/<int:pk>/", views.segment_detail, name="segment_detail"),
    path("programs/", views.program_list, name="program_list"),
    path("programs/<int:pk>/", views.program_detail, name="program_detail"),
    path("me/", views.my_accounts, name="my_accounts"),
    path("me/call-list.csv", views.call_list, name="call_list"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("influence/", views.influence, name="influence"),
    path("definitions/", views.definitions, name="definitions"),
    path("metrics/run/", views.metrics_run_start, name="metrics_run_start"),
    path("metrics/run/progress/", views.metrics_run_progress, name="metrics_run_progress"),
]
