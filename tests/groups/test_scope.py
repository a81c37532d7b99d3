"""Scope: a user sees the subtrees under their assignments and nothing else, in every page,
search, suggestion, export and API answer. Outside it a node does not exist (404)."""

from __future__ import annotations

import pytest

from groups import selectors
from groups.models import Group


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def test_district_lead_sees_their_district_subtree(naveen_client, tree):
    for group in [tree.north_goa, tree.mandrem, tree.mandrem_booths[0]]:
        response = naveen_client.get(f"/groups/{group.pk}/")
        assert response.status_code == 200, group.code
        assert group.name in response.content.decode()


@pytest.mark.parametrize("name", ["south_goa", "ponda", "ponda_booth", "goa", "tripura", "india"])
def test_district_lead_gets_404_outside_their_district(naveen_client, tree, name):
    outside: Group = getattr(tree, name)

    for path in [
        f"/groups/{outside.pk}/",
        f"/groups/{outside.pk}/children/",
        f"/groups/{outside.pk}/export.csv",
        f"/groups/{outside.pk}/edit/",
        f"/groups/{outside.pk}/move/",
        f"/api/groups/{outside.pk}/",
        f"/api/groups/{outside.pk}/children/",
    ]:
        assert naveen_client.get(path).status_code == 404, path
    assert naveen_client.post(f"/groups/{outside.pk}/deactivate/").status_code == 404
    assert Group.objects.get(pk=outside.pk).is_active


def test_nonexistent_and_malformed_ids_are_404(naveen_client, tree):
    assert naveen_client.get("/groups/999999999/").status_code == 404
    assert naveen_client.get("/api/groups/99999999999999999999999/").status_code == 404


def test_tree_browser_starts_at_the_users_district(naveen_client, tree):
    page = naveen_client.get("/groups/").content.decode()

    assert "North Goa district" in page
    assert "South Goa district" not in page
    assert "Tripura" not in page


def test_children_of_the_district_are_listed(naveen_client, tree):
    page = naveen_client.get(f"/groups/{tree.north_goa.pk}/children/").content.decode()

    assert "North Goa" in page  # the Lok Sabha constituency inside


def search_results(client, query: str) -> str:
    page = client.get("/groups/search/", {"q": query}).content.decode()
    return page.split('aria-label="Search results"')[1].split("</ul>")[0]


def test_search_finds_only_what_is_in_scope(naveen_client, tree):
    inside = search_results(naveen_client, "Mandrem")
    outside = search_results(naveen_client, "Ponda")
    by_code = search_results(naveen_client, "S23")

    assert "Mandrem" in inside
    assert "Ponda booth" not in outside
    assert "No group matches" in outside
    assert "Tripura" not in by_code
    assert "No group matches" in by_code


def test_autocomplete_suggests_only_what_is_in_scope(naveen_client, tree):
    inside = naveen_client.get("/groups/autocomplete/", {"q": "booth"}).json()["results"]
    outside = naveen_client.get("/groups/autocomplete/", {"q": "Ponda"}).json()["results"]

    assert {result["code"] for result in inside} == {b.code for b in tree.mandrem_booths}
    assert outside == []


def test_export_holds_only_the_subtree(naveen_client, tree):
    response = naveen_client.get(f"/groups/{tree.north_goa.pk}/export.csv")

    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    codes = {line.split(",")[0] for line in body.splitlines()[1:]}
    expected = set(selectors.group_subtree(tree.north_goa).values_list("code", flat=True))
    assert "S05-AC-001-B-0001" in expected
    assert codes == expected
    assert "S05-AC-021" not in body
    assert "S23" not in body


def test_api_list_holds_only_the_subtree(naveen_client, tree):
    response = naveen_client.get("/api/groups/", {"page_size": 500})

    assert response.status_code == 200
    payload = response.json()
    codes = {group["code"] for group in payload["results"]}
    assert tree.north_goa.code in codes
    assert tree.mandrem_booths[0].code in codes
    assert not any(code.startswith("S23") or code == "S05" or code == "IN" for code in codes)
    assert "S05-D-02" not in codes
    # Counts do not leak either: the total is the size of the district's subtree.
    assert payload["count"] == selectors.group_subtree(tree.north_goa).count()


def test_api_gives_each_group_the_code_of_the_group_above(naveen_client, tree):
    payload = naveen_client.get(f"/api/groups/{tree.north_goa.pk}/children/").json()
    (pc,) = payload["results"]
    acs = naveen_client.get(f"/api/groups/{pc['id']}/children/").json()["results"]
    booth = naveen_client.get(f"/api/groups/{tree.mandrem_booths[0].pk}/").json()

    assert pc["parent_code"] == "S05-D-01"
    assert {ac["parent_code"] for ac in acs} == {"S05-PC-01"}
    assert "S05-AC-001" in {ac["code"] for ac in acs}
    assert booth["parent_code"] == "S05-AC-001"
    assert booth["kind_label"] == "Polling booth"


def test_api_search_stays_in_scope(naveen_client, tree):
    results = naveen_client.get("/api/groups/", {"q": "Goa"}).json()["results"]

    assert {group["code"] for group in results} == {"S05-D-01", "S05-PC-01"}


def test_api_needs_sign_in(client, tree):
    response = client.get("/api/groups/")

    assert response.status_code == 403
    assert "credentials" in response.json()["detail"]


def test_user_without_assignment_sees_nothing(client, nobody, tree):
    client.force_login(nobody)

    assert "no group assigned" in client.get("/groups/").content.decode()
    assert client.get(f"/groups/{tree.goa.pk}/").status_code == 404
    assert client.get("/api/groups/").json()["count"] == 0
    assert client.get("/groups/autocomplete/", {"q": "Goa"}).json()["results"] == []


def test_national_lead_sees_everything_from_the_national_node(client, nita, tree):
    client.force_login(nita)

    page = client.get("/groups/").content.decode()
    national = client.get(f"/groups/{tree.india.pk}/").content.decode()

    assert "India" in page
    assert "Goa" in national and "Tripura" in national
    assert client.get(f"/groups/{tree.ponda_booth.pk}/").status_code == 200


def test_state_lead_breadcrumb_starts_at_their_state(client, gopal, tree):
    client.force_login(gopal)

    page = client.get(f"/groups/{tree.mandrem.pk}/").content.decode()

    breadcrumb = page.split('aria-label="Breadcrumb"')[1].split("</nav>")[0]
    assert "Goa" in breadcrumb and "North Goa district" in breadcrumb
    assert "India" not in breadcrumb


def test_two_assignments_make_one_scope(client, naveen, tree):
    from groups import services
    from groups.models import Role

    services.assignment_add(actor=None, user=naveen, group=tree.tripura, role=Role.VIEWER)
    client.force_login(naveen)

    assert client.get(f"/groups/{tree.tripura.pk}/").status_code == 200
    assert client.get(f"/groups/{tree.south_goa.pk}/").status_code == 404


def test_group_page_query_count_does_not_grow_with_children(
    naveen_client, tree, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        naveen_client.get(f"/groups/{tree.mandrem.pk}/")
    with django_assert_max_num_queries(20):
        naveen_client.get(f"/groups/{tree.north_goa.pk}/")
