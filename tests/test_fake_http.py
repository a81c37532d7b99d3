"""The helper that fakes outside services answers over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support.fake_http import FakeResponse, RecordedRequest


def messaging_api(request: RecordedRequest) -> FakeResponse:
    if request.headers.get("Authorization") != "Bearer good-token":
        return FakeResponse.json(
            {"error": {"message": "Invalid OAuth access token", "code": 190}}, status=401
        )
    return FakeResponse.json({"messages": [{"id": "wamid.1"}], "to": request.json()["to"]})


def post_json(url: str, payload: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_fake_server_answers_and_records_requests(fake_http_server):
    server = fake_http_server(messaging_api)

    status, body = post_json(
        f"{server.url}/v21.0/123/messages", {"to": "919800000001"}, "good-token"
    )

    assert server.url.startswith("http://127.0.0.1:")
    assert status == 200
    assert body == {"messages": [{"id": "wamid.1"}], "to": "919800000001"}
    assert len(server.requests) == 1
    assert server.requests[0].path == "/v21.0/123/messages"
    assert server.requests[0].method == "POST"


def test_fake_server_speaks_errors_too(fake_http_server):
    server = fake_http_server(messaging_api)

    status, body = post_json(f"{server.url}/v21.0/123/messages", {"to": "1"}, "expired")

    assert status == 401
    assert body["error"]["code"] == 190


def test_fake_server_stops_with_the_test(fake_http_server):
    server = fake_http_server(messaging_api)
    url = server.url
    server.__exit__(None, None, None)

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
