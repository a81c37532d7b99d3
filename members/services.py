"""Every change to the register: validation, scope check, audit event."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.services import audit_record
from groups import selectors as group_selectors
from groups.models import Group, Kind
from members.figures import member_figures_refresh_on_commit
from members.models import Consent, Member, Membership, Post
from members.validation import epic_normalise, phone_normalise

EDITABLE_FIELDS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth", "status", "joined_on", "recruited_by", "notes",
]  # fmt: skip


def _booth_location(booth: Group) -> tuple[int, Group | None]:
    """The member's denormalised columns for a home booth: its tree and its state."""
    lineage = group_selectors.group_lineage(booth)
    state = lineage[0] if lineage else None
    return booth.tree_id, state


def _check_booth(actor: User, booth: Group) -> None:
    if booth.kind != Kind.BOOTH:
        raise ApplicationError(f"{booth.name} is not a polling booth; choose the member's booth.")
    if not group_selectors.user_scope(actor).contains(booth):
        raise ApplicationError("That booth is not in your area.")
    if not booth.is_active:
        raise ApplicationError(f"{booth.name} is deactivated; choose an active booth.")


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    try:
        cleaned["phone"] = phone_normalise(fields.get("phone", ""))
        if fields.get("whatsapp_number"):
            cleaned["whatsapp_number"] = phone_normalise(fields["whatsapp_number"])
            if cleaned["whatsapp_number"] == cleaned["phone"]:
                cleaned["whatsapp_number"] = ""
        cleaned["epic"] = epic_normalise(fields.get("epic", ""))
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages)) from error
    birth_year = fields.get("birth_year")
    if birth_year is not None and not 1900 <= birth_year <= datetime.date.today().year:
        raise ApplicationError(f"Birth year {birth_year} is not between 1900 and this year.")
    cleaned["full_name"] = (fields.get("full_name") or "").strip()
    if not cleaned["full_name"]:
        raise ApplicationError("Enter the member's full name.")
    return cleaned


def member_create(*, actor: User, **fields: Any) -> Member:
    """Register a member in a booth of the actor's area. A repeated voter id is allowed (the
    Election Commission has issued duplicates) and shows on the duplicates screen."""
    cleaned = _clean_fields(fields)
    booth: Group = cleaned["booth"]
    _check_booth(actor, booth)
    member = Member(**{key: value for key, value in cleaned.items() if key in EDITABLE_FIELDS})
    member.tree_id, member.state = _booth_location(booth)
    _validate(member)
    with transaction.atomic():
        _save_unique_phone(member)
        audit_record(actor=actor, action="member.create", target=member,
                     data={"booth": booth.code})  # fmt: skip
        member_figures_refresh_on_commit(member.tree_id)
    return member


def member_update(*, actor: User, member: Member, **fields: Any) -> Member:
    cleaned = _clean_fields({**{name: getattr(member, name) for name in EDITABLE_FIELDS}, **fields})
    if cleaned["booth"].pk != member.booth_id:
        _check_booth(actor, cleaned["booth"])
    before = {name: _plain(getattr(member, name)) for name in EDITABLE_FIELDS}
    tree_before = member.tree_id
    for name in EDITABLE_FIELDS:
        setattr(member, name, cleaned[name])
    if member.recruited_by_id == member.pk:
        raise ApplicationError("A member cannot have recruited themselves.")
    member.tree_id, member.state = _booth_location(member.booth)
    _validate(member)
    changes = {
        name: [before[name], _plain(getattr(member, name))]
        for name in EDITABLE_FIELDS
        if before[name] != _plain(getattr(member, name))
    }
    if not changes:
        return member
    with transaction.atomic():
        _save_unique_phone(member)
        audit_record(actor=actor, action="member.update", target=member, data=changes)
        if "booth" in changes or "status" in changes:
            member_figures_refresh_on_commit(tree_before, member.tree_id)
    return member


def _plain(value: Any) -> Any:
    if isinstance(value, Group | Member):
        return value.pk
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _validate(member: Member) -> None:
    try:
        member.full_clean(exclude=["phone", "booth", "tree_id", "state", "recruited_by"])
    except ValidationError as error:
        parts = [f"{field.replace('_', ' ')}: {' '.join(messages)}"
                 for field, messages in error.message_dict.items()]  # fmt: skip
        raise ApplicationError("; ".join(parts), extra=error.message_dict) from error


def _save_unique_phone(member: Member) -> None:
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as error:
        if Member.objects.filter(phone=member.phone).exclude(pk=member.pk).exists():
            raise ApplicationError(
                f"The phone number {member.phone} is already registered to another member."
            ) from error
        raise


def consent_grant(
    *, actor: User | None, member: Member, purpose: str, source: str, notice_version: str
) -> Consent:
    """Record consent for a purpose; a live consent for it stays as it is."""
    if purpose not in Consent.Purpose.values:
        raise ApplicationError(f"Unknown purpose {purpose!r}.")
    if source not in Consent.Source.values:
        raise ApplicationError(f"Unknown source {source!r}.")
    if not notice_version.strip():
        raise ApplicationError("Say which version of the notice the member agreed to.")
    with transaction.atomic():
        live = (
            Consent.objects.select_for_update()
            .filter(member=member, purpose=purpose, withdrawn_at__isnull=True)
            .first()
        )
        if live is not None:
            return live
        consent = Consent.objects.create(
            member=member, purpose=purpose, source=source,
            notice_version=notice_version.strip()[:32], recorded_by=actor,
        )  # fmt: skip
        audit_record(
            actor=actor, action="consent.grant", target=member,
            data={"purpose": purpose, "source": source, "notice": notice_version},
        )  # fmt: skip
    return consent


def consent_withdraw(*, actor: User | None, member: Member, purpose: str) -> int:
    """Withdraw the live consent for a purpose; from now on the member is not messaged on it."""
    with transaction.atomic():
        withdrawn = Consent.objects.filter(
            member=member, purpose=purpose, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
        if withdrawn:
            audit_record(actor=actor, action="consent.withdraw", target=member,
                         data={"purpose": purpose})  # fmt: skip
    return withdrawn


def membership_add(*, actor: User | None, member: Member, group: Group, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ApplicationError(f"Unknown role {role!r}.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            member=member, group=group, defaults={"role": role}
        )
        if not created and membership.role != role:
            Membership.objects.filter(pk=membership.pk).update(role=role)
            membership.role = role
        audit_record(actor=actor, action="membership.add", target=member,
                     data={"group": group.code, "role": role})  # fmt: skip
    return membership


def post_assign(
    *, actor: User | None, member: Member, group: Group, office: str,
    starts_on: datetime.date | None = None, title: str = "",
) -> Post:  # fmt: skip
    if office not in Post.Office.values:
        raise ApplicationError(f"Unknown office {office!r}.")
    with transaction.atomic():
        post = Post.objects.create(
            member=member, group=group, office=office, title=title[:100],
            starts_on=starts_on or timezone.localdate(),
        )  # fmt: skip
        audit_record(actor=actor, action="post.assign", target=member,
                     data={"group": group.code, "office": office})  # fmt: skip
    return post


def post_end(*, actor: User | None, post: Post, ends_on: datetime.date | None = None) -> Post:
    """End a term (a handover): the post stays in the member's history."""
    ends_on = ends_on or timezone.localdate()
    if ends_on < post.starts_on:
        raise ApplicationError("A term cannot end before it starts.")
    with transaction.atomic():
        Post.objects.filter(pk=post.pk).update(ends_on=ends_on)
        post.ends_on = ends_on
        audit_record(actor=actor, action="post.end", target=post.member,
                     data={"post": post.pk, "ends_on": ends_on.isoformat()})  # fmt: skip
    return post
