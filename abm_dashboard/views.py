import logging
import sys

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template import loader
from django.views import defaults

from abm_dashboard.broker import redis_answers
from accounts.roles import home_url_name

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url_name(request.user))


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and docker compose: the database answers, and Redis where one is configured.

    Answered by abm_dashboard.middleware.HealthCheckMiddleware before the session, auth and host
    checks run (they would need the database, or reject the probe's 127.0.0.1 host). The body
    names the failing part only: hosts, ports and error texts go to the log, not to whoever asks.
    """
    checks = {"database": _database_check()}
    if settings.REDIS_URL:
        checks["broker"] = "ok" if redis_answers(settings.REDIS_URL) else "unavailable"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - whatever the driver raises, the database is not usable
        logger.exception("Health check: the database did not answer")
        return "unavailable"
    return "ok"


# How long a client told "the database is unavailable" should wait before trying again.
DATABASE_RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an error because the database is down or refusing work answers 503, saying so.

    Django calls this while the exception is being handled, so sys.exc_info() names it. Anything
    else is the ordinary 500 page. The 503 page is rendered without the request's context
    processors, which would read the database (the user's groups) again.
    """
    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError):
        return defaults.server_error(request)
    message = "The database is unavailable or too busy to answer. Nothing was changed; try again in a minute."
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(loader.render_to_string("database_unavailable.html", {"message": message}), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
