"""`manage.py demo_data`: what `make run` loads and prints."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_PASSWORD, DEMO_USERS
from accounts.models import User
from content.models import Content, Variant
from content.selectors import content_library, content_review_queue
from groups import tree
from groups.models import Group


def run_demo_data(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_data_prints_credentials_that_work_and_a_second_run_changes_nothing(
    client, settings, tmp_path
):
    """One test for both runs: loading the demo (the 2024 tree and its members) is the
    slow part, and the second run needs the first one's data anyway."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path  # the demo content's pictures

    output = run_demo_data()

    assert DEMO_PASSWORD in output
    for email, _name, _superuser in DEMO_USERS:
        assert email in output
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
    assert User.objects.get(email="admin@cadreconnect.example").is_superuser
    # The tree is India as it votes today: the 2024 list, not the 2008 one.
    assert "Group tree (2024 list)" in output
    assert Group.objects.get(code="S29").name == "Telangana"
    assert Group.objects.get(code="U08").get_kind_display() == "Union territory"
    assert not Group.objects.filter(code__in=["S09", "U04"]).exists()

    # Content in every state, in Hindi and English, with pictures, some of it waiting for
    # each demo district lead, some in the library.
    assert {c.state for c in Content.objects.all()} == set(Content.State.values)
    assert {v.language for v in Variant.objects.all()} == {"hi", "en"}
    assert Variant.objects.filter(media_type="image/png").exists()
    for lead in ("northgoa.lead@cadreconnect.example", "southgoa.lead@cadreconnect.example"):
        assert lead in output
        assert content_review_queue(User.objects.get(email=lead)).exists(), lead
    assert content_library(User.objects.get(email="viewer@cadreconnect.example")).exists()

    # Twice: nothing changes but the demo passwords, which are reset.
    users, groups, contents = User.objects.count(), Group.objects.count(), Content.objects.count()
    admin = User.objects.get(email="admin@cadreconnect.example")
    admin.set_password("changed-by-someone")
    admin.save()

    run_demo_data()

    assert (User.objects.count(), Group.objects.count(), Content.objects.count()) == (
        users, groups, contents,
    )  # fmt: skip
    assert tree.check_integrity() == []
    admin.refresh_from_db()
    assert admin.check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_demo_data_refuses_to_run_in_production(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="Refusing to load demo data with DEBUG off"):
        run_demo_data()

    assert not User.objects.exists()
