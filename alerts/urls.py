from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.home, name="home"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("rules/defaults/", views.rules_defaults, name="rules_defaults"),
    path("follow/", views.follow, name="follow"),
    path("preferences/", views.preferences, name="preferences"),
    path("send/", views.send_now, name="send_now"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("weekly/", views.weekly, name="weekly"),
    # Opened from an email, without a login: the signed token is the authentication.
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
