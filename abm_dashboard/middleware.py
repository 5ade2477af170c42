from collections.abc import Callable

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from abm_dashboard import views
from abm_dashboard.broker import BrokerUnavailable

# How long a client told "the task queue is down" should wait before trying again.
BROKER_RETRY_AFTER_SECONDS = 60


class HealthCheckMiddleware:
    """Answers /healthz itself, first in MIDDLEWARE, before anything that could fail for another reason.

    The session and auth middleware read the database when a request carries a session cookie,
    so with the database down a probe from a logged-in browser would get a 500, not the 503 that
    names the database. And host validation (CommonMiddleware's request.get_host()) rejects the
    127.0.0.1 that docker compose's health check calls, which is not in ALLOWED_HOSTS in
    production. The answer reveals nothing host-specific, so it is safe to give to any Host.
    """

    PATH = "/healthz"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == self.PATH:
            return views.healthz(request)
        return self.get_response(request)


class BrokerUnavailableMiddleware:
    """A view that needed the broker to queue work and raised BrokerUnavailable answers 503, saying so.

    (abm_dashboard.broker: callers check broker_available() before queuing.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BrokerUnavailable):
            return None
        message = "The task queue is unavailable, so nothing was started. Try again in a few minutes."
        if request.path_info.startswith(LoginRequiredMiddleware.API_PREFIXES):
            response: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            response = render(request, "broker_unavailable.html", {"message": message}, status=503)
        response["Retry-After"] = str(BROKER_RETRY_AFTER_SECONDS)
        return response


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a login, except views marked @login_not_required.

    The API is left to DRF: a token-authenticated request has no session user when middleware
    runs, and API clients want a 401/403, not a redirect to the login form. DRF's default
    permission (IsAuthenticated, and SPECTACULAR_SETTINGS' SERVE_PERMISSIONS for the schema)
    guards it instead. The Swagger UI page (/api/docs/) is a page for people: it redirects.
    """

    API_PREFIXES = ("/api/v1/", "/api/schema/")

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.path_info.startswith(self.API_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
