"""Mail from the portal (password resets). A message names a kept mail (accounts.OutgoingMail),
which the task claims before it talks to the mail server: a second delivery sends nothing."""

import smtplib

from celery import shared_task

from accounts import services


# Retried with growing, jittered pauses (about 1 s, 2 s, 4 s ... up to 10 minutes; some
# 20 minutes in all) while the mail server refuses or cannot be reached: a password reset
# link still arrives after a short outage, and beat's round tries again after that
# (MAIL_RESEND_SECONDS, up to services.MAIL_MAX_ATTEMPTS attempts). The time limit keeps a
# hung mail server from holding the worker; the claim (services.MAIL_CLAIM) outlasts it.
@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=10 * 60,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def mail_send(mail_id: int) -> None:
    services.outgoing_mail_send(mail_id=mail_id)


@shared_task(soft_time_limit=50, time_limit=60)
def mails_resend() -> None:
    services.outgoing_mails_resend()
