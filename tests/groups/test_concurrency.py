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
def test_concurrent_inserts_and_moves_in_one_state_keep_the_tree_sound(asha):
    tree = build_tree(asha)
    acs = list(Group.objects.filter(tree_id=tree.goa.tree_id, kind=Kind.ASSEMBLY)[:6])

    def add_booths(worker: int) -> int:
        try:
            ac = acs[worker % len(acs)]
            for number in range(1, 6):
                services.group_create_child(
                    actor=asha, parent=ac, name=f"Booth {worker}-{number}",
                    code=f"{ac.code}-B-{100 * (worker + 1) + number:04d}", kind=Kind.BOOTH,
                )  # fmt: skip
            if worker % 2:
                # Half the writers also move their constituency to the other district's PC.
                pc = Group.objects.get(code="S05-PC-02" if worker % 4 == 1 else "S05-PC-01")
                services.group_move(actor=asha, group=ac, new_parent=pc)
            return 5
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        added = sum(pool.map(add_booths, range(6)))

    assert added == 30
    assert Group.objects.filter(kind=Kind.BOOTH, tree_id=tree.goa.tree_id).count() == 34
    assert nested.check_integrity() == []
