"""The count of content awaiting the signed-in user's decision, on every page (the menu)."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from content.notifications import review_queue_path
from content.selectors import content_review_queue, decider_assignments


class Awaiting:
    """Counted only when a template asks (`{{ content_awaiting.count }}`): one query for the
    user's deciding roles (cached on the user for the request) and, for a lead or approver,
    one for the trees hanging below their nodes and one count of the review queue through its
    indexes (bench/content.py measures it: a few ms on 100,000 items)."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def count(self) -> int:
        user = self.user
        if user is None or not user.is_authenticated or not user.is_active:
            return 0
        if not user.is_superuser and not decider_assignments(user):
            return 0
        return content_review_queue(user).count()

    @cached_property
    def url(self) -> str:
        return review_queue_path()


def content_awaiting(request: HttpRequest) -> dict:
    return {"content_awaiting": Awaiting(getattr(request, "user", None))}
