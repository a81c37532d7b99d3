"""Signing in, out and resetting a password through django-allauth."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.conftest import wait_until
from tests.factories import UserFactory

PORTAL_PAGES = ["/", "/system/worker-pings/", "/accounts/password/change/"]


@pytest.mark.parametrize("path", PORTAL_PAGES)
def test_every_portal_page_requires_sign_in(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_sign_in_with_email_and_password_lands_on_dashboard(client, lalit, password):
    response = client.post(
        "/accounts/login/", {"login": lalit.email, "password": password}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "Dashboard" in response.content.decode()
    assert response.context["user"] == lalit


def test_sign_in_ignores_email_case(client, lalit, password):
    response = client.post("/accounts/login/", {"login": lalit.email.upper(), "password": password})

    assert response.status_code == 302


def test_wrong_password_is_refused_with_a_message(client, lalit):
    response = client.post("/accounts/login/", {"login": lalit.email, "password": "nope"})

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )
    assert "_auth_user_id" not in client.session


def test_inactive_user_cannot_sign_in(client, password, db):
    gone = UserFactory(email="gone@cadreconnect.example", is_active=False)

    response = client.post("/accounts/login/", {"login": gone.email, "password": password})

    assert "_auth_user_id" not in client.session
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert response["Location"] == reverse("account_inactive")


@pytest.mark.parametrize(
    "login",
    ["", "not-an-email", "x" * 10_000 + "@example.org", "' OR 1=1 --", "<script>alert(1)</script>"],
)
def test_hostile_or_oversized_login_gets_a_form_error_not_a_crash(client, db, login):
    response = client.post("/accounts/login/", {"login": login, "password": "whatever"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_sign_out_needs_post_and_ends_the_session(lalit_client):
    assert lalit_client.get("/accounts/logout/").status_code == 200  # a confirmation page
    assert "_auth_user_id" in lalit_client.session

    response = lalit_client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in lalit_client.session


def test_sign_in_page_does_not_offer_a_closed_sign_up(client, db):
    page = client.get("/accounts/login/").content.decode()

    assert "/accounts/signup/" not in page
    assert "registered for you" in page


def test_nobody_can_sign_themselves_up(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "intruder@example.org",
            "password1": "Str0ng-pass-123",
            "password2": "Str0ng-pass-123",
        },
    )

    assert "Sign Up Closed" in response.content.decode()
    assert not User.objects.filter(email="intruder@example.org").exists()


def test_password_reset_by_email_link(client, lalit, celery_worker):
    response = client.post("/accounts/password/reset/", {"email": lalit.email})

    assert response.status_code == 302
    # The mail goes out from a task, after the request has answered.
    wait_until(lambda: mail.outbox)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lalit.email]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    new_password = "a-brand-new-passphrase-2026"
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": new_password, "password2": new_password},
    )

    assert response.status_code == 302
    lalit.refresh_from_db()
    assert lalit.check_password(new_password)


def test_password_reset_for_unknown_address_sends_nothing_and_reveals_nothing(
    client, lalit, celery_worker
):
    known = client.post("/accounts/password/reset/", {"email": lalit.email})
    unknown = client.post("/accounts/password/reset/", {"email": "stranger@example.org"})
    # One queue, one worker: a mail for the stranger would go out before this second one.
    client.post("/accounts/password/reset/", {"email": lalit.email})
    wait_until(lambda: len(mail.outbox) >= 2)

    assert [message.to for message in mail.outbox] == [[lalit.email], [lalit.email]]
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]


def test_password_reset_with_a_malformed_address_is_a_form_error(client, db):
    response = client.post("/accounts/password/reset/", {"email": "no-at-sign" * 100})

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert mail.outbox == []


def test_superuser_reaches_the_admin(client, asha):
    client.force_login(asha)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/?q=asha").status_code == 200


def test_lead_without_staff_rights_is_sent_to_admin_login(lalit_client):
    response = lalit_client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_hindi_navigation_after_switching_language(lalit_client):
    lalit_client.post("/i18n/setlang/", {"language": "hi", "next": "/"})

    page = lalit_client.get("/").content.decode()

    assert "डैशबोर्ड" in page
    assert "साइन आउट" in page


def test_language_switch_works_before_sign_in(client, db):
    response = client.post("/i18n/setlang/", {"language": "hi", "next": "/accounts/login/"})

    assert response.status_code == 302
    page = client.get("/accounts/login/").content.decode()
    assert 'lang="hi"' in page
    assert "पासवर्ड" in page  # allauth's "Password" label, from our catalogue


def test_language_switch_ignores_unknown_language_and_foreign_redirects(client, db):
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
