from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from abm_dashboard import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("import/", include("imports.urls")),
    path("data-quality/", include("quality.urls")),
    path("alerts/", include("alerts.urls")),
    path("fit/", include("fit.urls")),
    path("", include("sales.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("metrics.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content-Security-Policy
    # allows no inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("dashboard.urls")),
]

handler500 = "abm_dashboard.views.server_error"
