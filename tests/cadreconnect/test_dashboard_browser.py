"""The portal in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_sign_in_see_dashboard_and_switch_to_hindi(page, sign_in):
    lalit = UserFactory(email="lalit@cadreconnect.example", full_name="Lalit Lead")

    page.goto("/")
    # Not signed in: the portal sends us to the allauth sign-in page.
    assert "/accounts/login/" in page.url
    sign_in(lalit)

    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.get_by_text("Welcome, Lalit.").is_visible()
    navigation = page.get_by_role("navigation", name="Main")
    assert navigation.get_by_role("link", name="Dashboard").is_visible()

    with page.expect_navigation():
        page.get_by_label("Language").select_option("hi")

    assert page.locator("html").get_attribute("lang") == "hi"
    navigation = page.get_by_role("navigation", name="मुख्य")
    assert navigation.get_by_role("link", name="डैशबोर्ड").is_visible()
    assert navigation.get_by_role("button", name="साइन आउट").is_visible()
    assert page.get_by_role("heading", name="डैशबोर्ड").is_visible()


def test_wrong_password_shows_an_error_in_the_browser(page, db):
    UserFactory(email="lalit@cadreconnect.example")

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("lalit@cadreconnect.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign In").click()

    assert page.get_by_text(
        "The email address and/or password you specified are not correct."
    ).is_visible()
    assert "/accounts/login/" in page.url


def test_ping_the_worker_from_the_dashboard(page, sign_in, celery_worker):
    lalit = UserFactory(email="lalit@cadreconnect.example")
    sign_in(lalit)

    page.get_by_role("button", name="Ping the worker").click()

    # htmx swaps in the table, then polls it until the worker has answered.
    answered = page.locator("tr.ping.answered")
    answered.wait_for(timeout=30_000)
    assert "pid" in answered.first.inner_text()


def test_dashboard_fits_a_phone_screen(browser, live_server, password):
    lalit = UserFactory(email="lalit@cadreconnect.example")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    phone = context.new_page()
    try:
        phone.goto("/accounts/login/")
        phone.get_by_label("Email").fill(lalit.email)
        phone.get_by_label("Password").fill(password)
        phone.get_by_role("button", name="Sign In").click()
        phone.wait_for_url("**/")

        scroll_width = phone.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 360
        assert phone.get_by_role("button", name="Ping the worker").is_visible()
    finally:
        context.close()
