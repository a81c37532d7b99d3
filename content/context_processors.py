"""The count of content awaiting the signed-in user's decision, on every page (the menu)."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from content.notifications import awaiting_cache_key, review_queue_path
from content.selectors import content_review_queue, decider_assignments

# The menu counts up to this many ("100+" beyond): the queue is walked oldest first by its
# index and stops there, so a state lead with thousands waiting costs what a district lead
# with a few does (bench/content.py: about 5 ms against 50 or more for the full count).
COUNT_CAP = 100


class Awaiting:
    """Counted only when a template asks (`{{ content_awaiting.count }}`): one query for the
    user's deciding roles (cached on the user for the request) and, for a lead or approver,
    one for the trees hanging below their nodes and one capped count of their review queue.

    The count is kept in the cache for CONTENT_AWAITING_CACHE_SECONDS (a minute), since a
    state lead's queue over a tree with its booths takes a tenth of a second or more to count
    (bench/content.py); the user's own decisions and submissions forget it at once
    (content.notifications), so only others' changes show up to a minute late."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        user = self.user
        if user is None or not user.is_authenticated or not user.is_active:
            return 0
        if not user.is_superuser and not decider_assignments(user):
            return 0
        seconds = settings.CONTENT_AWAITING_CACHE_SECONDS
        key = awaiting_cache_key(user)
        count = cache.get(key) if seconds else None
        if count is None:
            count = content_review_queue(user)[: COUNT_CAP + 1].count()
            if seconds:
                cache.set(key, count, seconds)
        return count

    @property
    def label(self) -> str:
        return f"{COUNT_CAP}+" if self.count > COUNT_CAP else str(self.count)

    @cached_property
    def url(self) -> str:
        return review_queue_path()


def content_awaiting(request: HttpRequest) -> dict:
    return {"content_awaiting": Awaiting(getattr(request, "user", None))}
