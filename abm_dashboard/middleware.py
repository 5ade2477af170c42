from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest


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
