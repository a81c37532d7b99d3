"""Mail about content: approvers are told when content awaits them, the author when it is
decided, each once, in their own language, without full phone numbers; the menu counts what
awaits a decider; beat reminds of long waits once per interval."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection

from accounts.models import OutgoingMail
from accounts.tasks import mail_send
from content import notifications, services, tasks
from content.context_processors import Awaiting
from content.models import Notice
from groups.models import Role
from tests.conftest import wait_until
from tests.support.services import require

from .conftest import fresh, small_tree, staff, submitted

PHONE = "9812345678"


def deliver() -> dict[str, list]:
    """What a worker does with the messages sent so far (in these tests no worker runs): write
    each pending notice's mails, then send each kept mail. Returns the mails by recipient."""
    for pk in Notice.objects.filter(done_at__isnull=True).values_list("pk", flat=True):
        tasks.content_notice_send(pk)
    for pk in OutgoingMail.objects.filter(sent_at__isnull=True).values_list("pk", flat=True):
        mail_send(pk)
    by_recipient: dict[str, list] = {}
    for message in mail.outbox:
        by_recipient.setdefault(message.to[0], []).append(message)
    return by_recipient


def test_submission_mails_every_approver_once_in_their_language(
    settings, tree, esha, naveen, sita, gopal, nita
):
    settings.PORTAL_URL = "https://cadre.example.org"
    naveen.language = "hi"
    naveen.save(update_fields=["language"])
    content = submitted(esha, [tree.mandrem_booths[0], tree.south_goa])

    mails = deliver()

    assert sorted(mails) == sorted(u.email for u in (naveen, sita, gopal, nita))
    assert all(len(messages) == 1 for messages in mails.values())
    [english] = mails[sita.email]
    assert english.subject == "[CadreConnect] Content awaits your approval: Sunday rally"
    assert f"https://cadre.example.org/content/{content.pk}/" in english.body
    assert "South Goa district" in english.body
    [hindi] = mails[naveen.email]
    assert "आपकी स्वीकृति" in hindi.subject
    # A second delivery of the notice's message writes nothing.
    notice = Notice.objects.get(content=content)
    assert tasks.content_notice_send(notice.pk) == 0
    assert OutgoingMail.objects.count() == 4


def test_the_author_is_mailed_the_decision_without_full_phone_numbers(tree, esha, naveen, sita):
    content = submitted(esha, [tree.north_goa, tree.south_goa], title=f"Call {PHONE}")
    deliver()
    mail.outbox.clear()

    services.content_decide(actor=naveen, content=fresh(content), decision="approve")
    assert esha.email not in deliver()  # one area approved: not decided yet
    services.content_decide(
        actor=sita, content=fresh(content), decision="request_changes",
        comment=f"Give the office number, not {PHONE}",
    )  # fmt: skip

    [decided] = deliver()[esha.email]
    assert decided.subject == "[CadreConnect] Changes requested: Call 98xxxxxx78"
    assert "Sita South decided your content" in decided.body
    assert "Give the office number, not 98xxxxxx78" in decided.body
    for message in mail.outbox:
        assert PHONE not in message.subject + message.body


def test_content_decided_before_its_mails_are_written_owes_the_approvers_nothing(
    tree, esha, gopal, naveen
):
    content = submitted(esha, [tree.north_goa])
    services.content_decide(actor=gopal, content=fresh(content), decision="approve")

    mails = deliver()

    assert list(mails) == [esha.email]
    assert mails[esha.email][0].subject == "[CadreConnect] Approved: Sunday rally"
    awaiting = Notice.objects.get(content=content, kind=Notice.Kind.AWAITING)
    assert (awaiting.done_at is not None, awaiting.mails) == (True, 0)


def test_the_menu_counts_what_awaits_a_decider(
    settings, client, tree, esha, naveen, sita, django_assert_num_queries
):
    settings.CONTENT_AWAITING_CACHE_SECONDS = 0
    submitted(esha, [tree.north_goa])
    submitted(esha, [tree.mandrem])
    submitted(esha, [tree.south_goa])

    # Their deciding roles, the trees hanging below those nodes, then one count.
    with django_assert_num_queries(3):
        assert Awaiting(naveen).count == 2
    with django_assert_num_queries(1):  # an editor, who decides nowhere: no count
        assert Awaiting(esha).count == 0
    client.force_login(naveen)
    assert "2 awaiting your approval" in client.get("/").content.decode()
    with patch("content.context_processors.COUNT_CAP", 1):
        assert "1+ awaiting your approval" in client.get("/").content.decode()
    client.force_login(esha)
    assert "awaiting your approval" not in client.get("/").content.decode()


def test_the_menu_count_is_kept_a_minute_and_forgotten_by_the_users_own_decision(
    settings, tree, esha, naveen, django_capture_on_commit_callbacks
):
    settings.CONTENT_AWAITING_CACHE_SECONDS = 60
    cache.clear()
    first = submitted(esha, [tree.north_goa])
    assert Awaiting(naveen).count == 1
    submitted(esha, [tree.mandrem])
    submitted(esha, [tree.mandrem_booths[0]])
    assert Awaiting(naveen).count == 1  # kept: someone else's change shows within a minute

    with django_capture_on_commit_callbacks(execute=True):
        services.content_decide(actor=naveen, content=fresh(first), decision="approve")

    assert Awaiting(naveen).count == 2  # counted afresh: one approved, two new
    cache.clear()


def test_reminders_once_per_interval_to_those_still_waited_for(settings, tree, esha, naveen, sita):
    settings.CONTENT_REMIND_AFTER = 3600
    content = submitted(esha, [tree.north_goa, tree.south_goa])
    deliver()
    mail.outbox.clear()
    start = fresh(content).submitted_at
    hours = lambda n: start + timedelta(hours=n)  # noqa: E731

    assert notifications.reminders_send(now=hours(0.5)) == 0
    assert notifications.reminders_send(now=hours(1.1)) == 1
    assert notifications.reminders_send(now=hours(1.5)) == 0  # the same interval
    first = deliver()
    assert sorted(first) == sorted([naveen.email, sita.email])
    assert "Reminder: 1 content awaits your approval" in first[naveen.email][0].subject
    mail.outbox.clear()

    services.content_decide(actor=naveen, content=fresh(content), decision="approve")
    assert notifications.reminders_send(now=hours(2.2)) == 1  # the second interval
    assert list(deliver()) == [sita.email]  # Naveen has decided
    steps = Notice.objects.filter(kind=Notice.Kind.REMINDER).values_list("step", flat=True)
    assert sorted(steps) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_two_reminder_rounds_at_once_remind_once(asha, settings):
    require(connection.vendor == "postgresql", "needs PostgreSQL (DATABASE_URL=postgres://...)")
    settings.CONTENT_REMIND_AFTER = 3600
    tree = small_tree(asha)
    esha = staff("esha@cadreconnect.example", "Esha Editor", (tree.goa, Role.EDITOR))
    staff("naveen@cadreconnect.example", "Naveen", (tree.north_goa, Role.LEAD))
    staff("sita@cadreconnect.example", "Sita", (tree.south_goa, Role.LEAD))
    contents = [submitted(esha, [tree.north_goa, tree.south_goa]) for _ in range(3)]
    later = fresh(contents[-1]).submitted_at + timedelta(hours=1, minutes=1)
    both_ready = threading.Barrier(2)

    def round_() -> int:
        try:
            both_ready.wait(timeout=10)
            return notifications.reminders_send(now=later)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reminded = list(pool.map(lambda _: round_(), range(2)))

    assert sum(reminded) == 3
    assert Notice.objects.filter(kind=Notice.Kind.REMINDER).count() == 3
    reminders = OutgoingMail.objects.filter(subject__startswith="[CadreConnect] Reminder")
    assert sorted(m.to[0] for m in reminders) == [
        "naveen@cadreconnect.example", "sita@cadreconnect.example",
    ]  # fmt: skip


def test_a_worker_mails_after_the_commit_and_beat_sends_what_the_broker_lost(
    transactional_db, asha, celery_worker, broker_unreachable, settings
):
    tree = small_tree(asha)
    esha = staff("esha@cadreconnect.example", "Esha Editor", (tree.goa, Role.EDITOR))
    naveen = staff("naveen@cadreconnect.example", "Naveen", (tree.north_goa, Role.LEAD))
    content = submitted(esha, [tree.north_goa])
    wait_until(lambda: [m for m in mail.outbox if m.to == [naveen.email]])

    with broker_unreachable():
        services.content_decide(actor=naveen, content=fresh(content), decision="approve")
    assert Notice.objects.filter(kind=Notice.Kind.DECIDED, done_at__isnull=True).count() == 1

    settings.MAIL_RESEND_SECONDS = 0
    tasks.content_notices_resend.delay()  # beat's round
    [decided] = wait_until(lambda: [m for m in mail.outbox if m.to == [esha.email]])
    assert decided.subject == "[CadreConnect] Approved: Sunday rally"
    assert len(mail.outbox) == 2


def test_the_mail_rounds_are_beat_tasks():
    from django.conf import settings

    from cadreconnect.celery import app as celery_app

    for name, task in [
        ("content-notices-resend", tasks.content_notices_resend),
        ("content-reminders-send", tasks.content_reminders_send),
    ]:
        assert settings.CELERY_BEAT_SCHEDULE[name]["task"] == task.name
        assert task.name in celery_app.tasks
