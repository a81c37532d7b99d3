"""The portal keeps the language a user chose, for the mails it writes them."""

from __future__ import annotations

from django.conf import settings


def test_the_language_signed_in_with_and_switched_to_is_kept(client, lalit, password):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    client.post("/accounts/login/", {"login": lalit.email, "password": password})
    lalit.refresh_from_db()
    assert lalit.language == "hi"

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    lalit.refresh_from_db()
    assert lalit.language == "en"

    client.post("/i18n/setlang/", {"language": "xx\x00", "next": "/"})  # no such language
    lalit.refresh_from_db()
    assert lalit.language == "en"
