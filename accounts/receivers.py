"""Audit of sign-ins that failed (Django's user_login_failed: the portal's sign-in page through
allauth, and the admin's), and the language a user signs in with (their mails')."""

from __future__ import annotations

import hashlib
import hmac

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import get_language

from accounts.services import language_remember
from cadreconnect.privacy import mask_email
from cadreconnect.services import audit_record

# Where the typed sign-in name is: allauth passes `email`, the admin's form `username`.
LOGIN_KEYS = ("email", "username", "login")


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def audit_sign_in_failed(
    sender, credentials: dict, request: HttpRequest | None = None, **kwargs
) -> None:
    """The e-mail as typed, partly masked, with a keyed hash of it (to count attempts on one
    account without keeping the address), and the client's address as allauth reads it
    (through the configured trusted proxies)."""
    typed = str(next((credentials[key] for key in LOGIN_KEYS if credentials.get(key)), ""))
    audit_record(
        actor=None, action="auth.sign_in_failed", target=None,
        data={
            "login": mask_email(typed),
            "login_hash": _keyed_hash(typed.strip().lower()),
            "address": _client_address(request),
            "path": request.path[:200] if request is not None else "",
        },
    )  # fmt: skip


def _keyed_hash(text: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return ""


@receiver(user_logged_in, dispatch_uid="accounts.remember_language")
def remember_language(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """The language the user signs in with (the language switch's cookie, or the browser's)
    is the one their mails are written in."""
    language_remember(user=user, language=get_language())
