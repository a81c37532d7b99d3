"""Demo register: a few hundred members in Goa's and Tripura's booths, Hindi and English
names, posts, memberships, consents, some unverified, and a referral chain."""

from __future__ import annotations

import random
from typing import TextIO

from django.utils import timezone

from accounts.models import User
from groups.models import Group, Kind
from members import services
from members.models import Consent, Member, Membership, Post

FIRST = [
    ("Asha", "आशा"), ("Ravi", "रवि"), ("Sunita", "सुनीता"), ("Arjun", "अर्जुन"),
    ("Meena", "मीना"), ("Vikas", "विकास"), ("Pooja", "पूजा"), ("Rahul", "राहुल"),
    ("Kavita", "कविता"), ("Suresh", "सुरेश"), ("Anil", "अनिल"), ("Geeta", "गीता"),
]  # fmt: skip
LAST = [
    ("Sharma", "शर्मा"), ("Naik", "नाइक"), ("Das", "दास"), ("Gaonkar", "गावकर"),
    ("Debbarma", "देबबर्मा"), ("Sawant", "सावंत"), ("Singh", "सिंह"), ("Kamat", "कामत"),
]  # fmt: skip
MEMBERS = 300


def load(*, stdout: TextIO) -> list[str]:
    if Member.objects.exists():
        return [f"Members: {Member.objects.count():,} already registered."]
    admin = User.objects.get(email="admin@cadreconnect.example")
    rng = random.Random(2026)  # noqa: S311 -- demo names, not secrets
    booths = list(
        Group.objects.filter(kind=Kind.BOOTH, code__startswith="S05-AC-00", is_active=True)[:40]
    ) + list(Group.objects.filter(kind=Kind.BOOTH, code__startswith="S23-AC-00")[:20])
    previous = None
    for number in range(MEMBERS):
        first, first_hi = rng.choice(FIRST)
        last, last_hi = rng.choice(LAST)
        booth = booths[number % len(booths)]
        member = services.member_create(
            actor=admin,
            full_name=f"{first} {last}",
            name_local=f"{first_hi} {last_hi}" if number % 3 else "",
            phone=f"+9198{number:08d}",
            epic=f"GOA{number:07d}" if number % 4 else "",
            booth=booth,
            status=Member.Status.ACTIVE if number % 10 else Member.Status.INACTIVE,
            recruited_by=previous if number % 25 and number < 60 else None,
        )
        if number % 5:
            Member.objects.filter(pk=member.pk).update(phone_verified_at=timezone.now())
        if number % 7 == 0:
            Member.objects.filter(pk=member.pk).update(epic_checked_at=timezone.now())
        for purpose in (Consent.Purpose.WHATSAPP, Consent.Purpose.PROCESSING):
            if number % 6:
                services.consent_grant(
                    actor=admin, member=member, purpose=purpose,
                    source=Consent.Source.IMPORT, notice_version="2026-1",
                )  # fmt: skip
        role = Membership.Role.ADMIN if number % 40 == 0 else Membership.Role.MEMBER
        services.membership_add(actor=admin, member=member, group=booth, role=role)
        if number % 40 == 0:
            services.post_assign(actor=admin, member=member, group=booth,
                                 office=Post.Office.BOOTH_PRESIDENT)  # fmt: skip
        previous = member
    return [f"Members: {MEMBERS} registered in {len(booths)} booths of Goa and Tripura."]
