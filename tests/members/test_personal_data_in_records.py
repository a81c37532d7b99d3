"""After a day's work on the register (register, edit, merge, export, search by phone and voter
id, reveal, a failed sign-in, an admin deletion), no audit row, no admin log entry and no log
line holds a full phone number or voter id."""

from __future__ import annotations

import json
import logging

from django.contrib.admin.models import LogEntry
from django.core.serializers.json import DjangoJSONEncoder
from django.forms.models import model_to_dict

from cadreconnect.models import AuditEvent
from members.models import Member
from tests.members.test_admin import current_form
from tests.members.test_register import form_data

PHONES = ["9812345601", "9812345602", "9812345603", "9812345604", "9812345605", "9812345606",
          "9812345607", "9812345608", "9812345609"]  # fmt: skip
EPICS = ["GOA1234561", "GOA1234563", "GOA1234568"]


def written_forms(phone: str) -> list[str]:
    """A number as a record might hold it: national, E.164, spaced for reading."""
    return [phone, f"+91{phone}", f"{phone[:5]} {phone[5:]}"]


def test_no_record_or_log_line_holds_a_full_phone_or_voter_id(client, naveen, asha, tree, caplog):
    caplog.set_level(logging.INFO)
    client.force_login(naveen)

    # Register, then edit every contact field (and a note that mentions a number).
    client.post("/members/new/", form_data(phone=PHONES[0], whatsapp_number=PHONES[1],
                                           epic=EPICS[0]))  # fmt: skip
    ravi = Member.objects.get(phone=f"+91{PHONES[0]}")
    client.get(f"/members/{ravi.pk}/edit/")
    client.post(f"/members/{ravi.pk}/edit/", form_data(
        phone=PHONES[2], whatsapp_number=PHONES[3], epic=EPICS[1],
        notes=f"Call his brother on {PHONES[4][:5]} {PHONES[4][5:]}",
    ))  # fmt: skip
    client.post(f"/members/{ravi.pk}/reveal/")
    client.post(f"/members/{ravi.pk}/consents/", {"purpose": "whatsapp", "notice_version": "1"})

    # A duplicate with the same voter id, merged into the first.
    client.post("/members/new/", form_data(phone=PHONES[5], epic=EPICS[1], full_name="Ravi N."))
    duplicate = Member.objects.get(phone=f"+91{PHONES[5]}")
    client.post("/members/duplicates/merge/",
                {"first": ravi.pk, "second": duplicate.pk, "survivor": ravi.pk})  # fmt: skip

    # Searches and exports by phone and voter id, and a page that is not there.
    for query in (f"+91 {PHONES[2]}", EPICS[1].lower(), PHONES[2]):
        client.get("/members/", {"q": query})
        b"".join(client.get("/members/export.csv", {"q": query}).streaming_content)
        b"".join(client.get("/members/export.xlsx", {"q": query}).streaming_content)
    client.get(f"/members/999999/?q={PHONES[2]}")

    # A sign-in with a number typed as the e-mail address, and one into the admin.
    client.logout()
    client.post("/accounts/login/", {"login": f"{PHONES[6]}@example.com", "password": "x"})
    client.post("/admin/login/", {"username": f"+91{PHONES[6]}", "password": "x"})

    # The national office changes a member's phone in the admin (the admin writes its own log).
    client.force_login(asha)
    client.post("/members/new/", form_data(phone=PHONES[7], epic=EPICS[2], full_name="Gone"))
    gone = Member.objects.get(phone=f"+91{PHONES[7]}")
    changed = client.post(
        f"/admin/members/member/{gone.pk}/change/",
        current_form(gone, full_name="Gone Again", phone=PHONES[8]),
    )
    assert changed.status_code == 302

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"member.create", "member.update", "member.merge", "member.export", "member.reveal",
            "consent.grant", "auth.sign_in_failed"} <= actions  # fmt: skip
    assert LogEntry.objects.filter(object_id=str(gone.pk)).exists()
    assert not Member.objects.filter(pk=duplicate.pk).exists()
    assert Member.objects.get(pk=gone.pk).phone == f"+91{PHONES[8]}"

    records = {
        "audit": json.dumps([model_to_dict(event) for event in AuditEvent.objects.all()],
                            cls=DjangoJSONEncoder, ensure_ascii=False),
        "admin log": json.dumps([model_to_dict(entry) for entry in LogEntry.objects.all()],
                                cls=DjangoJSONEncoder, ensure_ascii=False),
        "log output": caplog.text,
    }  # fmt: skip
    found = [
        (where, number)
        for where, text in records.items()
        for number in [form for phone in PHONES for form in written_forms(phone)]
        + EPICS
        + [epic.lower() for epic in EPICS]
        if number in text
    ]
    assert found == []


def test_a_member_update_audits_what_changed_with_numbers_masked(naveen, tree):
    from members import services

    ravi = services.member_create(
        actor=naveen, full_name="Ravi Naik", phone=PHONES[0], epic=EPICS[0],
        booth=tree.mandrem_booths[0],
    )  # fmt: skip
    # Same masked form (+91 98xxxxxx01 and +91 98xxxxxx01), still a change.
    services.member_update(actor=naveen, member=ravi, phone="9899999901", epic=EPICS[1],
                           whatsapp_number=PHONES[1])  # fmt: skip

    event = AuditEvent.objects.get(action="member.update")
    assert event.data["phone"] == ["+91 98xxxxxx01", "+91 98xxxxxx01"]
    assert event.data["epic"] == ["GOAxxxxx61", "GOAxxxxx63"]
    assert event.data["whatsapp_number"] == ["", "+91 98xxxxxx02"]
    assert event.target_repr == "Ravi Naik (+91 98xxxxxx01)"
