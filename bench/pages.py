"""Requests through the whole middleware stack, against a static file as the baseline."""

from __future__ import annotations

from django.test import Client

from accounts.models import User
from bench.harness import Bench

REQUESTS = 300


def run(bench: Bench) -> None:
    user = User.objects.create_user("bench@cadreconnect.example", "bench-password-2026")
    anonymous = Client()
    signed_in = Client()
    signed_in.force_login(user)

    def get(client: Client, path: str, status: int = 200):
        def operation() -> None:
            response = client.get(path)
            assert response.status_code == status, (path, response.status_code)
            # Drain streamed responses (static files) so the work is counted.
            b"".join(response.streaming_content) if response.streaming else response.content

        return operation

    bench.measure("static file", get(anonymous, "/static/css/app.css"), operations=REQUESTS)
    bench.measure("sign-in page", get(anonymous, "/accounts/login/"), operations=REQUESTS)
    bench.measure("dashboard, signed in", get(signed_in, "/"), operations=REQUESTS)
    bench.measure("/healthz (database + broker)", get(anonymous, "/healthz"), operations=REQUESTS)
