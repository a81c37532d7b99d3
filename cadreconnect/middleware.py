"""Response headers that every page of the portal, or every page with personal data, carries."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


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
