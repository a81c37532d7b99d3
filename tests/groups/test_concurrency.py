"""Writers to one tree are serialised: concurrent inserts and moves leave it sound."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from groups import services
from groups import tree as nested
from groups.models import Group, Kind

from .conftest import build_tree


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_and_moves_in_one_tree_keep_it_sound(asha):
    tree = build_tree(asha)
    mandrem = tree.mandrem
    pernem = Group.objects.get(code="S05-AC-002")

    def add_booths(worker: int) -> int:
        try:
            added = []
            for number in range(1, 6):
                booth = services.group_create_child(
                    actor=asha, parent=mandrem, name=f"Booth {worker}-{number}",
                    code=f"S05-AC-001-B-{100 * (worker + 1) + number:04d}", kind=Kind.BOOTH,
                )  # fmt: skip
                added.append(booth)
            if worker % 2:
                # Half the writers also move one of their booths to the next constituency,
                # a tree of its own: both trees change in one transaction.
                services.group_move(actor=asha, group=added[0], new_parent=pernem)
            return len(added)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        added = sum(pool.map(add_booths, range(6)))

    assert added == 30
    assert Group.objects.filter(parent=mandrem).count() == 3 + 30 - 3
    assert Group.objects.filter(parent=pernem).count() == 3
    assert nested.check_integrity() == []
