"""The group tree as CSV: text a spreadsheet would run as a formula comes out inert."""

from __future__ import annotations

import csv
import io

import pytest

from groups import services


@pytest.mark.parametrize(
    ("name", "written"),
    [('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
     ("+1+1", "'+1+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("Mandrem", "Mandrem")],
)  # fmt: skip
def test_the_group_export_neutralises_formula_cells(client, asha, tree, name, written):
    services.group_update(actor=asha, group=tree.mandrem_booths[0], name=name)
    client.force_login(asha)

    response = client.get(f"/groups/{tree.mandrem.pk}/export.csv")

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(body, newline=""))}
    assert rows[tree.mandrem_booths[0].code]["name"] == written
