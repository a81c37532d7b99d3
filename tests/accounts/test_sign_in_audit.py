"""Failed sign-ins are audited: the e-mail as typed, partly masked and hashed, and the client's
address; never the password, never the full address."""

from __future__ import annotations

from cadreconnect.models import AuditEvent


def test_a_wrong_password_is_audited_without_the_address_or_password(client, lalit):
    client.post("/accounts/login/", {"login": lalit.email, "password": "nope-secret"},
                REMOTE_ADDR="203.0.113.7")  # fmt: skip

    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.actor is None
    assert event.data["login"] == f"{lalit.email[:2]}***@{lalit.email.split('@')[1]}"
    assert event.data["address"] == "203.0.113.7"
    assert len(event.data["login_hash"]) == 32
    assert lalit.email not in str(event.data) and "nope-secret" not in str(event.data)


def test_attempts_on_one_account_share_a_hash_whatever_the_case(client, lalit):
    for typed in (lalit.email, lalit.email.upper(), "someone.else@cadreconnect.example"):
        client.post("/accounts/login/", {"login": typed, "password": "nope"})

    hashes = [event.data["login_hash"] for event in
              AuditEvent.objects.filter(action="auth.sign_in_failed").order_by("id")]  # fmt: skip
    assert hashes[0] == hashes[1] != hashes[2]


def test_a_phone_typed_as_the_sign_in_name_is_kept_masked(client, db):
    client.post("/accounts/login/", {"login": "9812345678@x.example", "password": "nope"})
    client.post("/admin/login/", {"username": "+919812345678", "password": "nope"})

    events = AuditEvent.objects.filter(action="auth.sign_in_failed")
    assert events.count() == 2
    assert all("9812345678" not in str(event.data) for event in events)


def test_a_successful_sign_in_writes_no_failure(client, lalit, password):
    client.post("/accounts/login/", {"login": lalit.email, "password": password})

    assert not AuditEvent.objects.filter(action="auth.sign_in_failed").exists()
