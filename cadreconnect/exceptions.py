from __future__ import annotations

from django.core.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused an operation; the message is safe to show to the user.

    `code` is stable (the API returns it; clients branch on it), the message is translated.
    """

    def __init__(self, message: str, *, code: str = "invalid", extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.extra = extra or {}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's answer to an error, always `{"detail": ..., "code": ...}`: a service's refusal
    (ApplicationError, in the user's language, 400; Forbidden 403) with its stable code, and
    DRF's own errors (401, 404, ...) with theirs."""
    if isinstance(exc, ApplicationError):
        status = 403 if isinstance(exc, PermissionDenied) else 400
        return Response({"detail": exc.message, "code": exc.code}, status=status)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", "error"))
    return response
