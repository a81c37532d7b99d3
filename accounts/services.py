"""Changes to portal accounts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.services import audit_record


def email_normalise(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254:
        raise ApplicationError(_("An e-mail address has at most 254 characters."),
                               code="email_invalid")  # fmt: skip
    try:
        validate_email(email)
    except ValidationError as error:
        raise ApplicationError(
            _("%(email)s is not an e-mail address.") % {"email": email[:64]}, code="email_invalid"
        ) from error
    # Lower case, as allauth keeps addresses (its sign-in and password reset look them up so).
    return email.lower()


def user_get_or_invite(*, actor: User, email: str, full_name: str) -> tuple[User, bool]:
    """The account with this e-mail address (in any case), or a new one without a password,
    whose owner sets it through the password reset mail (user_password_set_mail_send).
    Returns the user and whether it was created. The caller checks the actor's rights."""
    email = email_normalise(email)
    full_name = " ".join((full_name or "").split())[:200]
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            return user, False
        if not full_name:
            raise ApplicationError(
                _("Enter the name of the person: they have no account yet."), code="name_missing"
            )
        user = User(email=email, full_name=full_name)
        user.set_unusable_password()
        user.save()
        audit_record(actor=actor, action="user.invite", target=user, data={"user": user.pk})
    return user, True


def user_password_set_mail_send(*, request: HttpRequest, user: User) -> None:
    """Send the new account's owner allauth's password reset mail, with which they set their
    first password (the form configured for allauth's reset flow, if the project sets one)."""
    from allauth.account import app_settings
    from allauth.account.forms import ResetPasswordForm
    from allauth.utils import get_form_class

    form_class = get_form_class(app_settings.FORMS, "reset_password", ResetPasswordForm)
    form = form_class(data={"email": user.email})
    if form.is_valid():
        form.save(request)
