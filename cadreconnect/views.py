from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST

from cadreconnect import selectors, services
from cadreconnect.queue import QueueUnavailable


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cadreconnect/dashboard.html",
        {
            **_pings_context(request),
            "heartbeat": selectors.worker_heartbeat_last(),
            "booths_waiting": _booths_waiting(request),
        },
    )


def _booths_waiting(request: HttpRequest) -> int:
    from groups.delimitation import office

    return office.delimitation_waiting_count(user=request.user)


@require_POST
def worker_ping(request: HttpRequest) -> HttpResponse:
    try:
        services.worker_ping_request(requested_by=request.user)
    except QueueUnavailable as error:
        if request.htmx:
            return _render_pings(request, ping_error=error.message)
        messages.error(request, error.message)
    if request.htmx:
        return _render_pings(request)
    return redirect("dashboard")


@require_GET
def worker_ping_list(request: HttpRequest) -> HttpResponse:
    """The dashboard's ping table; the page polls it while a ping is unanswered."""
    return _render_pings(request)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: 200 when the database and the broker answer.

    Anyone may ask whether the portal is up; what is down, and why, only signed-in staff see.
    """
    checks = {"database": selectors.database_health(), "broker": selectors.broker_health()}
    healthy = all(check.ok for check in checks.values())
    body: dict = {"status": "ok" if healthy else "unavailable"}
    # Without the database there is no session to read: everyone gets the short answer.
    if checks["database"].ok and request.user.is_authenticated and request.user.is_staff:
        body["checks"] = {name: check.as_dict() for name, check in checks.items()}
    return JsonResponse(body, status=200 if healthy else 503)


@login_not_required
@cache_control(max_age=24 * 60 * 60)
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page that names no icon (the admin's pages)."""
    return redirect(static("favicon.svg"))


def _pings_context(request: HttpRequest) -> dict:
    pings = selectors.worker_pings_recent(user=request.user)
    return {"pings": pings, "pings_waiting": any(ping.answered_at is None for ping in pings)}


def _render_pings(request: HttpRequest, *, ping_error: str = "") -> HttpResponse:
    return render(
        request,
        "cadreconnect/_worker_pings.html",
        {**_pings_context(request), "ping_error": ping_error},
    )
