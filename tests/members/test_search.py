"""Finding members on the list page: names by word in either script, hostile queries, the
count that stops at a limit, and paging."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from groups.models import Role
from members import name_search, selectors
from tests.groups.conftest import staff
from tests.members.test_register import register
from tests.support.services import require


@pytest.fixture
def named(asha, tree):
    """Members in Mandrem's booths, with names in both scripts."""
    booths = tree.mandrem_booths
    people = [
        ("Sunita Devi", "सुनीता देवी", "9811111111"),
        ("Sunil Kumar", "सुनील कुमार", "9822222222"),
        ("Ravi Kamat", "रवि कामत", "9833333333"),
        ("Asha Devi Naik", "आशा देवी नाइक", "9844444444"),
        ("D'Souza Maria", "", "9855555555"),
    ]
    return {
        name: register(asha, booths[number % len(booths)], phone, name=name, name_local=local)
        for number, (name, local, phone) in enumerate(people)
    }


def listed(client, **params) -> list[str]:
    response = client.get("/members/", params)
    assert response.status_code == 200
    return [member.full_name for member in response.context["page"].members]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("suni", ["Sunil Kumar", "Sunita Devi"]),  # the start of a word
        ("Sunita Devi", ["Sunita Devi"]),
        ("devi", ["Asha Devi Naik", "Sunita Devi"]),  # any word of the name
        ("asha devi na", ["Asha Devi Naik"]),  # whole words, then the start of the last
        ("सुनी", ["Sunil Kumar", "Sunita Devi"]),  # Devanagari, matras and all
        ("देवी नाइक", ["Asha Devi Naik"]),
        ("SUNITA", ["Sunita Devi"]),  # any case
        ("d'souza", ["D'Souza Maria"]),
        ("kamat ravi", ["Ravi Kamat"]),  # words in any order
        ("nobody here", []),
    ],
)
def test_names_are_found_by_their_words_in_either_script(client, naveen, named, query, names):
    client.force_login(naveen)

    assert listed(client, q=query) == names


def test_name_search_is_by_word_start_on_postgresql(client, naveen, named):
    """PostgreSQL reads the full-text index, by word start; SQLite (development) looks for the
    text anywhere in a name. The middle of a word is not a word start."""
    if connection.vendor != "postgresql":
        pytest.skip("word starts are PostgreSQL's full-text search")
    client.force_login(naveen)

    assert listed(client, q="nita") == []  # inside "Sunita"
    assert listed(client, q="sun devi") == []  # "sun" followed by a word is a whole word
    assert listed(client, q="sunita dev") == ["Sunita Devi"]


@pytest.mark.parametrize(
    "query",
    ["sunita' OR '1'='1", "' OR 1=1 --", "sunita & devi | ravi", "<script>alert(1)</script>",
     "%_%", "\\", "🙂", "() :* !"],
)  # fmt: skip
def test_hostile_queries_are_only_text(client, naveen, named, query):
    """Quotes, SQL and the full-text query language's operators are searched for as text:
    none of these finds anyone (an operator obeyed would: '| ravi' would find Ravi)."""
    client.force_login(naveen)

    response = client.get("/members/", {"q": query})

    assert response.status_code == 200
    assert response.context["page"].members == []
    assert "<script>alert(1)</script>" not in response.content.decode()


# A NUL byte never reaches the list: the request is refused with a 400
# (tests/members/test_control_characters.py).
@pytest.mark.parametrize("query", ["a" * 101, "सुनीता" * 20])
def test_queries_that_cannot_be_searched_list_nobody_and_say_why(client, naveen, named, query):
    client.force_login(naveen)

    response = client.get("/members/", {"q": query})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["page"].members == []
    assert 'role="alert"' in response.content.decode()


def test_names_outside_the_users_area_are_not_found(client, sita, named):
    client.force_login(sita)  # Tripura: the named members are in Goa

    assert listed(client, q="sunita") == []


def test_the_count_stops_at_the_limit_and_the_page_says_more_than(
    client, naveen, named, monkeypatch
):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 1)
    client.force_login(naveen)

    everyone = client.get("/members/")
    page = everyone.context["page"]

    assert (page.count, page.more_than, page.sorted) == (1, True, True)
    assert len(page.members) == 5  # a page holds 50: the limit is for counting only
    assert "Members 1\u20135 of more than 1" in " ".join(everyone.content.decode().split())

    devis = client.get("/members/", {"q": "devi"})
    many = devis.context["page"]

    assert many.more_than
    assert not many.sorted  # too many to sort: the first found, and a request to narrow
    assert sorted(member.full_name for member in many.members) == ["Asha Devi Naik", "Sunita Devi"]
    assert "More than 1 members match" in " ".join(devis.content.decode().split())


def test_pages_hold_fifty_and_link_to_each_other(client, naveen, tree, asha):
    for number in range(60):
        register(asha, tree.mandrem_booths[0], f"98110{number:05d}", name=f"Member {number:02d}")
    client.force_login(naveen)

    first = client.get("/members/")
    second = client.get("/members/", {"page": "2"})
    beyond = client.get("/members/", {"page": "99"})
    nonsense = client.get("/members/", {"page": "two"})

    assert [m.full_name for m in first.context["page"].members][:2] == ["Member 00", "Member 01"]
    assert len(first.context["page"].members) == 50
    assert "Members 1\u201350 of 60" in " ".join(first.content.decode().split())
    assert "page=2" in first.content.decode()
    assert [m.full_name for m in second.context["page"].members] == [
        f"Member {number}" for number in range(50, 60)
    ]
    assert beyond.context["page"].number == 2  # the last page, not an error
    assert nonsense.context["page"].number == 1


@pytest.fixture
def common_name(asha, tree):
    """Twelve Ashas and thirty others in Mandrem, and the statistics PostgreSQL keeps of the
    names taken: they say more than one member in four is an Asha."""
    require(connection.vendor == "postgresql", "common names are read from PostgreSQL's statistics")
    booths = tree.mandrem_booths
    for number in range(12):
        register(asha, booths[number % len(booths)], f"98440{number:05d}",
                 name=f"Asha Gaonkar {number:02d}", name_local=f"आशा {number:02d}")  # fmt: skip
    others = ["Ravi Kamat", *(f"Someone{number} Else{number}" for number in range(29))]
    for number, name in enumerate(others):
        register(asha, booths[0], f"98550{number:05d}", name=name)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")
    assert name_search.name_words_share("asha") >= name_search.COMMON_NAME_SHARE
    assert name_search.name_words_share("ravi") < name_search.COMMON_NAME_SHARE


def searches_made(queries) -> list[str]:
    """Which way each query on the member table matched names: 'each' member by member, or
    through the 'index'."""
    made = []
    for query in queries:
        if "ts_match_vq(" in query["sql"]:
            made.append("each")
        elif '"name_words" @@' in query["sql"]:
            made.append("index")
    return made


def test_a_common_name_is_checked_member_by_member_with_the_same_answer(
    client, naveen, sita, gopal, common_name, monkeypatch
):
    client.force_login(naveen)

    with CaptureQueriesContext(connection) as common:
        ashas = listed(client, q="asha")
    with CaptureQueriesContext(connection) as rare:
        ravis = listed(client, q="ravi")

    assert searches_made(common) == ["each"]
    assert ashas == [f"Asha Gaonkar {number:02d}" for number in range(12)]
    assert searches_made(rare) == ["index"]
    assert ravis == ["Ravi Kamat"]
    assert listed(client, q="आशा 07") == ["Asha Gaonkar 07"]
    client.force_login(gopal)  # Goa, whole trees: read tree by tree
    with CaptureQueriesContext(connection) as state_wide:
        assert listed(client, q="asha") == ashas
    assert searches_made(state_wide) == ["each"]
    client.force_login(sita)  # South Goa: none of them
    assert listed(client, q="asha") == []

    monkeypatch.setattr(selectors, "COUNT_LIMIT", 5)
    client.force_login(naveen)
    page = client.get("/members/", {"q": "asha gao"}).context["page"]
    assert (page.count, page.more_than, page.sorted) == (5, True, False)
    assert len(page.members) == 6
    assert all(member.full_name.startswith("Asha Gaonkar") for member in page.members)


@pytest.mark.django_db(transaction=True)
def test_a_common_name_read_too_slowly_is_answered_from_the_index(
    client, naveen, common_name, monkeypatch
):
    """Statistics can be out of date: should reading members one by one take longer than its
    time limit (here, because another session holds the table for a moment), the search is
    stopped and made again through the full-text index, and the page still answers."""
    monkeypatch.setitem(name_search.COMMON_NAME_SETTINGS, "statement_timeout", "200")
    locked, release = threading.Event(), threading.Event()

    def hold_the_table() -> None:
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute("LOCK TABLE members_member IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    assert locked.wait(timeout=10)
    # Let the other session go once the first search has given up.
    threading.Timer(1.0, release.set).start()
    client.force_login(naveen)
    try:
        with CaptureQueriesContext(connection) as queries:
            ashas = listed(client, q="asha")
    finally:
        release.set()
        holder.join()

    assert searches_made(queries) == ["each", "index"]
    assert ashas == [f"Asha Gaonkar {number:02d}" for number in range(12)]


def test_a_booth_lead_lists_and_finds_only_the_booths_members(client, tree, named):
    """A lead of one booth sees a range inside an assembly constituency's tree: the members of
    that booth, not those of the booths beside it."""
    booth = tree.mandrem_booths[0]
    lead = staff("booth-lead@cadreconnect.example", "Booth Lead", booth, Role.LEAD)
    in_booth = sorted(name for name, member in named.items() if member.booth_id == booth.pk)
    elsewhere = sorted(name for name, member in named.items() if member.booth_id != booth.pk)
    assert in_booth and elsewhere
    client.force_login(lead)

    assert listed(client) == in_booth
    assert listed(client, q=in_booth[0]) == [in_booth[0]]
    assert listed(client, q=elsewhere[0]) == []
    assert client.get(f"/members/{named[elsewhere[0]].pk}/").status_code == 404
