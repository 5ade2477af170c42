from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def import_page(request: HttpRequest) -> HttpResponse:
    return render(request, "imports/placeholder.html")
