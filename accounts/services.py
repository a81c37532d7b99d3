"""Changes to portal accounts."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OutgoingMail, User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.queue import enqueue_again, enqueue_or_log
from cadreconnect.services import audit_record

logger = logging.getLogger(__name__)


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


# A task sending a mail holds it this long: longer than mail_send may run (90 s), so a second
# delivery meanwhile leaves it alone, and short enough that a mail whose worker died while
# sending goes out again within minutes (the mail server may have taken it: then it arrives
# twice, the one case that can).
MAIL_CLAIM = timedelta(minutes=5)
# Attempts before beat's round gives up on a mail (the task's own retries count too).
MAIL_MAX_ATTEMPTS = 20
# Mails are forgotten after this long: a password reset link is dead by then
# (PASSWORD_RESET_TIMEOUT, three days), and no message for one is still in the broker.
MAIL_KEEP = timedelta(days=3)


def outgoing_mail_queue(*, message: EmailMessage) -> OutgoingMail:
    """Keep a rendered mail and have a worker send it once the caller's transaction commits.
    The broker down does not fail the caller: the mail waits here for beat's round."""
    from accounts.tasks import mail_send

    with transaction.atomic():
        mail = OutgoingMail.objects.create(
            subject=message.subject,
            body=message.body,
            content_subtype=message.content_subtype,
            from_email=message.from_email,
            to=list(message.to),
            alternatives=[list(part) for part in getattr(message, "alternatives", [])],
            headers=dict(message.extra_headers),
            queued_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue_or_log(mail_send, mail.pk), robust=True)
    return mail


def outgoing_mail_send(*, mail_id: int) -> bool:
    """Send a kept mail with Django's mail API (the configured EMAIL_URL), unless it was sent
    or another task is sending it; True when it was sent now. A failure lets the claim go and
    raises, for the task to retry."""
    now = timezone.now()
    claimed = (
        OutgoingMail.objects.filter(pk=mail_id, sent_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + MAIL_CLAIM, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False  # sent, being sent, or forgotten: a second delivery
    mail = OutgoingMail.objects.get(pk=mail_id)
    message = EmailMultiAlternatives(
        mail.subject, mail.body, mail.from_email, mail.to, headers=mail.headers
    )
    message.content_subtype = mail.content_subtype
    for content, mimetype in mail.alternatives:
        message.attach_alternative(content, mimetype)
    try:
        message.send()
    except BaseException:  # a refusal, or the task's time limit
        OutgoingMail.objects.filter(pk=mail_id).update(claimed_until=None)
        raise
    OutgoingMail.objects.filter(pk=mail_id).update(
        sent_at=timezone.now(), claimed_until=None, body="", alternatives=[]
    )
    return True


def outgoing_mails_resend() -> int:
    """Beat's round: send again the message of each mail not sent, not being sent and not
    sent to the workers for MAIL_RESEND_SECONDS (the broker lost it, or was down when it was
    asked for, or the task ran out of retries), at most MAIL_MAX_ATTEMPTS times; forget mails
    older than MAIL_KEEP. Returns how many were sent to the workers."""
    from accounts.tasks import mail_send

    now = timezone.now()
    OutgoingMail.objects.filter(created_at__lt=now - MAIL_KEEP).delete()
    due = (
        OutgoingMail.objects.filter(
            sent_at__isnull=True,
            attempts__lt=MAIL_MAX_ATTEMPTS,
            queued_at__lt=now - timedelta(seconds=settings.MAIL_RESEND_SECONDS),
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("queued_at")
        .values_list("pk", "queued_at")[:500]
    )
    sent = enqueue_again(due, model=OutgoingMail, task=mail_send, now=now)
    if sent:
        logger.info("Sent %s unsent mails to the workers again.", sent)
    return sent


def language_remember(*, user: User, language: str | None) -> None:
    """Keep the portal language the user chose (one of LANGUAGES, else nothing changes): the
    language of the mails the portal sends them."""
    codes = {code for code, _name in settings.LANGUAGES}
    language = (language or "").split("-")[0].lower()
    if user.pk is None or language not in codes or user.language == language:
        return
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
