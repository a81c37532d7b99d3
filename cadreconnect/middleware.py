"""Requests the portal refuses before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from cadreconnect.validation import has_control_characters

# Multipart bodies (file uploads) are left to the view and its forms: reading them here would
# parse the upload before the view can choose how (upload handlers, limits).
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class ControlCharactersMiddleware:
    """400 for a control character (a NUL byte and the like, cadreconnect.validation) in the
    query string or the form data: no search box or form field takes one, and PostgreSQL
    cannot even compare a NUL byte (the query would fail with a 500). Forms refuse them
    field by field too, for callers that do not come through a request (and to say which
    field); this stops every search box at once, including those that read `request.GET`
    directly. The answer never repeats the text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_control_characters(request.GET) or (
            request.method == "POST"
            and request.content_type == FORM_CONTENT_TYPE
            and _holds_control_characters(request.POST)
        ):
            return self._refusal(request)
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse:
        message = _(
            "The request holds a control character (such as a NUL byte), which no field takes. "
            "Remove it and try again."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "control_characters"}, status=400)
        return render(request, "400.html", {"message": message}, status=400)


def _holds_control_characters(data: QueryDict) -> bool:
    return any(
        has_control_characters(key) or any(has_control_characters(value) for value in values)
        for key, values in data.lists()
    )
