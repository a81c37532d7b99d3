"""Content's beat rounds: scheduled content released at its send-at time, content past its
expiry closed. Each round is a pure function of the rows (content.services claims each row
with FOR UPDATE SKIP LOCKED), so a round delivered twice, or two at once, moves each content
once; a lost round costs one period."""

from celery import shared_task

from content import notifications, services

# A round moves 500 rows per transaction; a campaign's 100,000 items take seconds.
ROUND_SOFT_TIME_LIMIT = 5 * 60
ROUND_TIME_LIMIT = ROUND_SOFT_TIME_LIMIT + 60


@shared_task(soft_time_limit=ROUND_SOFT_TIME_LIMIT, time_limit=ROUND_TIME_LIMIT)
def content_release_due() -> int:
    return services.content_release_due()


@shared_task(soft_time_limit=ROUND_SOFT_TIME_LIMIT, time_limit=ROUND_TIME_LIMIT)
def content_expire_due() -> int:
    return services.content_expire_due()


# Writing one notice's mails reads its targets' deciders: seconds at most, even for content
# aimed at 200 areas.
@shared_task(soft_time_limit=60, time_limit=90)
def content_notice_send(notice_id: int) -> int:
    return notifications.notice_send(notice_id=notice_id)


@shared_task(soft_time_limit=50, time_limit=60)
def content_notices_resend() -> int:
    return notifications.notices_resend()


# A reminder round starts no batch after notifications.REMINDER_ROUND_SECONDS (4 minutes).
@shared_task(soft_time_limit=ROUND_SOFT_TIME_LIMIT, time_limit=ROUND_TIME_LIMIT)
def content_reminders_send() -> int:
    return notifications.reminders_send()
