"""Beat's rounds: scheduled content is released at its send-at time, content past its expiry
is closed, each once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from cadreconnect.celery import app as celery_app
from cadreconnect.exceptions import ApplicationError
from content import selectors, services, tasks
from content.models import Content

from .conftest import fresh, submitted

State = Content.State


def test_approved_content_with_a_send_time_is_scheduled_then_released(tree, esha, gopal):
    send_at = timezone.now() + timedelta(hours=2)
    content = submitted(esha, [tree.goa], send_at=send_at)
    services.content_decide(actor=gopal, content=content, decision="approve")
    assert fresh(content).state == State.SCHEDULED
    assert not selectors.content_sendable().filter(pk=content.pk).exists()

    assert services.content_release_due(now=send_at - timedelta(minutes=1)) == 0
    assert services.content_release_due(now=send_at + timedelta(seconds=1)) == 1
    assert services.content_release_due(now=send_at + timedelta(seconds=2)) == 0

    content = fresh(content)
    assert content.state == State.APPROVED
    event = content.events.last()
    assert (event.kind, event.from_state, event.to_state, event.actor) == (
        "released", "scheduled", "approved", None,
    )  # fmt: skip
    assert selectors.content_sendable(now=send_at).filter(pk=content.pk).exists()


def test_expired_content_is_closed_once_and_never_released(tree, esha, gopal, naveen):
    now = timezone.now()
    scheduled = submitted(
        esha, [tree.goa], send_at=now + timedelta(hours=1), expires_at=now + timedelta(hours=2)
    )
    services.content_decide(actor=gopal, content=scheduled, decision="approve")
    waiting = submitted(esha, [tree.north_goa], expires_at=now + timedelta(hours=2))
    lasting = submitted(esha, [tree.north_goa], expires_at=now + timedelta(days=2))
    later = now + timedelta(hours=3)

    assert services.content_release_due(now=later) == 0  # past its expiry: not released
    assert services.content_expire_due(now=later, batch=1) == 2
    assert services.content_expire_due(now=later) == 0

    assert [fresh(c).state for c in (scheduled, waiting, lasting)] == [
        State.EXPIRED, State.EXPIRED, State.IN_REVIEW,
    ]  # fmt: skip
    assert fresh(waiting).events.last().from_state == State.IN_REVIEW
    with pytest.raises(ApplicationError) as refused:
        services.content_decide(actor=naveen, content=fresh(waiting), decision="approve")
    assert refused.value.code == "wrong_state"


def test_the_rounds_are_beat_tasks():
    for name, task in [
        ("content-release-due", tasks.content_release_due),
        ("content-expire-due", tasks.content_expire_due),
    ]:
        entry = settings.CELERY_BEAT_SCHEDULE[name]
        assert entry["task"] == task.name
        assert entry["task"] in celery_app.tasks
