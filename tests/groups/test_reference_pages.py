"""What the pages and the API say of the 2024 list: union territories as union territories,
the stand-in of a UT without a legislature as a whole constituency, and estimated electors as
estimates."""

from __future__ import annotations

import csv
import io

import pytest

from cadreconnect.templatetags.numbers import indian
from groups import loader
from groups.models import Group


@pytest.fixture
def reference_tree(db) -> None:
    # Goa (a state, its electors from the roll), J&K (a UT, redrawn) and Ladakh (a UT with no
    # legislature).
    loader.reference_tree_load(with_booths=False, state_codes=["S05", "U08", "U09"])


def page(client, code: str, *, language: str = "en") -> str:
    client.cookies["django_language"] = language
    response = client.get(f"/groups/{Group.objects.get(code=code).pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_union_territory_says_so_on_its_page_and_in_the_tree(client, asha, reference_tree):
    client.force_login(asha)

    assert "Union territory · U08" in page(client, "U08")
    assert "State · S05" in page(client, "S05")
    assert "Whole constituency (no assembly) · U09-AC-001" in page(client, "U09-AC-001")
    india = Group.objects.get(code="IN")
    tree_page = client.get(f"/groups/{india.pk}/children/").content.decode()
    assert "Union territory · U08" in tree_page and "Union territory · U09" in tree_page
    assert "State · S05" in tree_page
    assert "केंद्र शासित प्रदेश · U08" in page(client, "U08", language="hi")


def test_an_estimated_elector_count_is_shown_as_an_estimate(client, asha, reference_tree):
    client.force_login(asha)
    redrawn = Group.objects.get(code="U08-AC-001")
    unchanged = Group.objects.get(code="S05-AC-001")
    assert redrawn.electors_estimated and not unchanged.electors_estimated

    assert f"Electors: about {indian(redrawn.electors)} (estimate)" in page(client, redrawn.code)
    shown = page(client, unchanged.code)
    assert f"Electors: {indian(unchanged.electors)}</p>" in shown
    assert "(estimate)" not in shown
    assert f"लगभग {indian(redrawn.electors)} (अनुमान)" in page(client, redrawn.code, language="hi")


def test_the_api_and_the_export_carry_the_label_and_the_estimate(client, asha, reference_tree):
    client.force_login(asha)
    jammu_kashmir = Group.objects.get(code="U08")

    state = client.get(f"/api/groups/{jammu_kashmir.pk}/").json()
    assert (state["kind"], state["kind_label"], state["designation"]) == (
        20, "Union territory", "union_territory",
    )  # fmt: skip
    children = client.get(f"/api/groups/{Group.objects.get(code='U08-PC-01').pk}/children/")
    acs = {row["code"]: row for row in children.json()["results"]}
    assert acs["U08-AC-001"]["electors_estimated"] is True
    assert acs["U08-AC-001"]["electors"] == Group.objects.get(code="U08-AC-001").electors

    export = client.get(f"/groups/{jammu_kashmir.pk}/export.csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(body, newline=""))}
    assert rows["U08"]["designation"] == "union_territory"
    assert rows["U08-AC-001"]["electors_estimated"] == "True"
