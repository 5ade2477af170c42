"""The project's URLs plus a trivial view: the baseline the page benchmarks compare against."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("", include("abm_dashboard.urls")),
]
