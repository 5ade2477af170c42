"""Placeholder pages until the dashboard issue lands; each says what it will show."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _placeholder(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "dashboard/placeholder.html", {"title": title})


def account_list(request: HttpRequest) -> HttpResponse:
    return _placeholder(request, "Accounts")


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _placeholder(request, "Account health")


def segment_list(request: HttpRequest) -> HttpResponse:
    return _placeholder(request, "Segments")


def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _placeholder(request, "Segment")


def program_list(request: HttpRequest) -> HttpResponse:
    return _placeholder(request, "Programs")


def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _placeholder(request, "Program")


def my_accounts(request: HttpRequest) -> HttpResponse:
    return _placeholder(request, "My accounts")


def influence(request: HttpRequest) -> HttpResponse:
    return _placeholder(request, "Influence summary")
