"""Requests the portal refuses before any view sees them, and the response headers that every
page of the portal, or every page with personal data, carries."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
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


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` from settings.PERMISSIONS_POLICY: feature -> allowed origins.

    An empty list turns the feature off (`camera=()`); "self" and origins allow it there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(_origin(origin) for origin in origins)})"
            for feature, origins in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.setdefault("Permissions-Policy", self.header)
        return response


def _origin(origin: str) -> str:
    return origin if origin in ("self", "*") else f'"{origin}"'


class NoStoreMiddleware:
    """`Cache-Control: no-store` (and no-cache, private, max-age=0) on pages with personal data.

    Keyed on the URL, not on each view, so that a member page added later is covered without
    anyone remembering a decorator: every view of settings.NO_STORE_NAMESPACES and each view
    named in settings.NO_STORE_VIEWS ("namespace:name").
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.namespaces = frozenset(settings.NO_STORE_NAMESPACES)
        self.views = frozenset(settings.NO_STORE_VIEWS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and (
            match.namespace in self.namespaces or match.view_name in self.views
        ):
            add_never_cache_headers(response)
        return response


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's, but asking the view before the session.

    Django's reads the session first, from the database: with the database down, /healthz
    then answered a request that carried a session cookie with a 500 instead of its 503.
    """

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
