"""Resident portal views."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what Yaritori is and where each kind of user goes."""
    return render(request, "portal/home.html")
