import smtplib

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


# Retried with growing, jittered pauses (about 1 s, 2 s, 4 s ... up to 10 minutes; some
# 20 minutes in all) while the mail server refuses or cannot be reached: a password reset
# link still arrives after a short outage. A message that the server took is never sent again.
@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=10 * 60,
    max_retries=8,
)
def mail_send(
    *,
    subject: str,
    body: str,
    content_subtype: str = "plain",
    from_email: str,
    to: list[str],
    alternatives: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one rendered e-mail with Django's mail API (the configured EMAIL_URL)."""
    message = EmailMultiAlternatives(subject, body, from_email, to, headers=headers)
    message.content_subtype = content_subtype
    for content, mimetype in alternatives or []:
        message.attach_alternative(content, mimetype)
    message.send()
