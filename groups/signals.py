"""Telling a lead at sign-in that a delimitation retired their node (once per notice)."""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _


def delimitation_notices_show(sender, request, user, **kwargs) -> None:
    from groups.delimitation import office

    for notice in office.delimitation_notices_take(user=user):
        messages.warning(
            request,
            _(
                "%(code)s, where you hold the role of %(role)s, was retired by a delimitation. "
                "You keep read access to what was yours until you are given a new role."
            )
            % {"code": notice.group_code, "role": notice.assignment.get_role_display().lower()},
        )
