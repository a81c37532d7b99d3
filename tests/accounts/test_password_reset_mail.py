"""A password reset answers the same whether or not its mail can be sent: the mail is kept and
goes out from a Celery task, which tries again while the mail server is down, sends nothing
on a second delivery, and is sent again by beat's round when its message was lost."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from accounts.models import OutgoingMail
from accounts.tasks import mail_send, mails_resend
from cadreconnect.models import WorkerPing
from cadreconnect.services import worker_ping_request
from tests.conftest import wait_until
from tests.support.fake_smtp import FakeSMTPServer


@pytest.fixture(autouse=True)
def _fresh_limits():
    """allauth limits resets per address (five a minute), counted in the cache: these tests ask
    for several, and leave none counted for the tests after them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mail_server(settings):
    """Start a fake mail server and point the portal's SMTP backend at it."""

    def start(**behaviour) -> FakeSMTPServer:
        server = FakeSMTPServer(**behaviour).__enter__()
        started.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        return server

    started: list[FakeSMTPServer] = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


def without_tokens(response) -> str:
    """The page without its CSRF tokens, which differ from one answer to the next."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", response.content.decode())


def reset(client, email: str):
    return client.post("/accounts/password/reset/", {"email": email}, follow=True)


def test_password_reset_answers_the_same_when_the_mail_server_is_down(
    client, lalit, celery_worker, mail_server
):
    down = mail_server(refuse_first=None)

    known = reset(client, lalit.email)
    unknown = reset(client, "stranger@example.org")

    assert known.status_code == unknown.status_code == 200
    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password/reset/done/", 302)]
    )
    assert without_tokens(known) == without_tokens(unknown)
    assert "We have sent you an email" in known.content.decode()
    # The worker did try, and tries again: the server was asked more than once.
    wait_until(lambda: down.connections >= 2)
    assert down.messages == []


def test_password_reset_mail_arrives_once_the_mail_server_is_back(
    client, lalit, celery_worker, mail_server
):
    flaky = mail_server(refuse_first=1)

    response = reset(client, lalit.email)

    assert response.redirect_chain == [("/accounts/password/reset/done/", 302)]
    wait_until(lambda: flaky.messages)
    [message] = flaky.messages
    assert message["To"] == lalit.email
    assert message["Subject"].startswith("[CadreConnect] ")
    assert "/accounts/password/reset/key/" in message.get_payload(decode=True).decode()
    assert flaky.connections == 2


def test_a_mail_delivered_twice_is_sent_once(client, lalit, celery_worker, mail_server):
    server = mail_server()
    reset(client, lalit.email)
    wait_until(lambda: server.messages)
    mail = OutgoingMail.objects.get()

    mail_send.delay(mail.pk)  # the same message again (a redelivery)
    # The worker takes one message at a time, in order: once a ping sent after it is
    # answered, the second delivery has been handled.
    ping = worker_ping_request(requested_by=lalit)
    wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).answered_at)

    assert len(server.messages) == 1
    assert server.connections == 1
    mail.refresh_from_db()
    assert mail.sent_at is not None
    assert mail.body == ""  # the reset link is not kept once sent


def test_password_reset_with_the_broker_down_answers_the_same_and_the_mail_follows(
    transactional_db, client, lalit, mail_server, broker_unreachable, settings, request
):
    server = mail_server()

    with broker_unreachable():
        known = reset(client, lalit.email)
        unknown = reset(client, "stranger@example.org")

    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password/reset/done/", 302)]
    )
    assert without_tokens(known) == without_tokens(unknown)
    assert OutgoingMail.objects.filter(sent_at__isnull=True).count() == 1
    settings.MAIL_RESEND_SECONDS = 0
    request.getfixturevalue("celery_worker")
    mails_resend.delay()  # beat's round
    wait_until(lambda: server.messages)
    [message] = server.messages
    assert message["To"] == lalit.email
    assert "/accounts/password/reset/key/" in message.get_payload(decode=True).decode()
