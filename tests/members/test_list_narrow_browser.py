"""The member list on a phone: at 390 px wide nothing scrolls sideways, and every column of
a row is still readable."""

from __future__ import annotations

import pytest

from members import services

pytestmark = pytest.mark.browser


def test_the_member_list_reads_at_390_px_without_sideways_scrolling(page, sign_in, asha, tree,
                                                                     naveen):  # fmt: skip
    booth = tree.mandrem_booths[0]
    services.member_create(
        actor=asha, full_name="Kavita Debbarma Chakraborty Sengupta", name_local="कविता देबबर्मा",
        phone="9812345621", booth=booth,
    )  # fmt: skip
    services.member_create(actor=asha, full_name="Ravi Naik", phone="9812345643", booth=booth)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(naveen)

    page.goto("/members/")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row = page.get_by_role("row").filter(has_text="Kavita Debbarma")
    for shown in ["+91 98xxxxxx21", "Mandrem booth 1", "Active"]:
        cell = row.get_by_text(shown, exact=True)
        assert cell.is_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, shown

    page.goto("/members/duplicates/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"/groups/{tree.north_goa.pk}/roles/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
