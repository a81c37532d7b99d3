"""The Election Commission's reference data (groups/data/, see PROVENANCE.md) as tree nodes:
national > 35 states > 543 Lok Sabha constituencies > 4,125 assembly constituencies, and
optionally generated booths: ceil(electors / 880) per assembly constituency."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from groups.models import Kind

DATA_DIR = Path(__file__).resolve().parent / "data"
CONSTITUENCIES_CSV = DATA_DIR / "eci-2008-constituencies.csv"
ELECTORS_CSV = DATA_DIR / "eci-2014-electors-by-ac.csv"
# India had 927,553 polling stations for 814.6 million electors in 2014: about 880 each.
ELECTORS_PER_BOOTH = 880

NATIONAL_CODE = "IN"

STATE_NAMES_HINDI = {
    "S01": "आंध्र प्रदेश",
    "S02": "अरुणाचल प्रदेश",
    "S03": "असम",
    "S04": "बिहार",
    "S05": "गोवा",
    "S06": "गुजरात",
    "S07": "हरियाणा",
    "S08": "हिमाचल प्रदेश",
    "S09": "जम्मू और कश्मीर",
    "S10": "कर्नाटक",
    "S11": "केरल",
    "S12": "मध्य प्रदेश",
    "S13": "महाराष्ट्र",
    "S14": "मणिपुर",
    "S15": "मेघालय",
    "S16": "मिज़ोरम",
    "S17": "नागालैंड",
    "S18": "ओडिशा",
    "S19": "पंजाब",
    "S20": "राजस्थान",
    "S21": "सिक्किम",
    "S22": "तमिलनाडु",
    "S23": "त्रिपुरा",
    "S24": "उत्तर प्रदेश",
    "S25": "पश्चिम बंगाल",
    "S26": "छत्तीसगढ़",
    "S27": "झारखंड",
    "S28": "उत्तराखंड",
    "U01": "अंडमान और निकोबार द्वीपसमूह",
    "U02": "चंडीगढ़",
    "U03": "दादरा और नगर हवेली",
    "U04": "दमन और दीव",
    "U05": "राष्ट्रीय राजधानी क्षेत्र दिल्ली",
    "U06": "लक्षद्वीप",
    "U07": "पुडुचेरी",
}

_SMALL_WORDS = {"AND", "OF", "THE"}
_KEEP_UPPER = {"NCT", "SC", "ST"}


def display_name(upper: str) -> str:
    """'NCT OF DELHI' -> 'NCT of Delhi'; the data's names are all capitals."""
    words = []
    for index, word in enumerate(upper.split()):
        if word in _KEEP_UPPER:
            words.append(word)
        elif word in _SMALL_WORDS and index > 0:
            words.append(word.lower())
        else:
            # Capitalise each run of letters: "ST.CRUZ" -> "St.Cruz", "NORTH-EAST" -> "North-East".
            words.append(re.sub(r"[A-Za-z]+", lambda run: run.group(0).capitalize(), word))
    return " ".join(words)


def state_code(st_code: str) -> str:
    return st_code.strip().upper()


def pc_code(st_code: str, pc_number: int) -> str:
    return f"{state_code(st_code)}-PC-{pc_number:02d}"


def ac_code(st_code: str, ac_number: int) -> str:
    return f"{state_code(st_code)}-AC-{ac_number:03d}"


def booth_code(st_code: str, ac_number: int, booth_number: int) -> str:
    return f"{ac_code(st_code, ac_number)}-B-{booth_number:04d}"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    code: str
    name: str
    kind: int
    parent_code: str | None
    name_local: str = ""
    electors: int | None = None
    is_generated: bool = False


NATIONAL = NodeSpec(NATIONAL_CODE, "India", Kind.NATIONAL, None, name_local="भारत")


def electors_by_ac() -> dict[tuple[str, int], int]:
    """(state name as in the data, AC number) -> electors aged 18 and over in 2014."""
    columns = ("Above 18 Male", "Above 18 Female", "Above 18 Others")
    with ELECTORS_CSV.open(newline="", encoding="utf-8") as source:
        return {
            (row["STATE"].strip(), int(row["AC_NO"])): sum(
                int(row[column].strip() or 0) for column in columns
            )
            for row in csv.DictReader(source)
        }


def tree_specs(
    *, with_booths: bool, state_codes: Iterable[str] | None = None
) -> dict[str, list[NodeSpec]]:
    """Nodes of each state's tree (the state first), keyed by state code, in code order."""
    wanted = {state_code(code) for code in state_codes} if state_codes else None
    electors = electors_by_ac()
    states: dict[str, list[NodeSpec]] = {}
    seen_pcs: set[str] = set()
    with CONSTITUENCIES_CSV.open(newline="", encoding="utf-8") as source:
        rows = sorted(
            csv.DictReader(source),
            key=lambda row: (row["ST_CODE"], int(row["PC_CODE"]), int(row["AC_CODE"])),
        )
    for row in rows:
        st = state_code(row["ST_CODE"])
        if wanted is not None and st not in wanted:
            continue
        nodes = states.get(st)
        if nodes is None:
            nodes = states[st] = [
                NodeSpec(
                    st,
                    display_name(row["ST_NAME"]),
                    Kind.STATE,
                    None,
                    name_local=STATE_NAMES_HINDI.get(st, ""),
                )
            ]
        pc = pc_code(st, int(row["PC_CODE"]))
        if pc not in seen_pcs:
            seen_pcs.add(pc)
            nodes.append(NodeSpec(pc, display_name(row["PC_NAME"]), Kind.PARLIAMENTARY, st))
        ac_number = int(row["AC_CODE"])
        ac = ac_code(st, ac_number)
        ac_electors = electors.get((row["ST_NAME"].strip(), ac_number))
        nodes.append(
            NodeSpec(ac, display_name(row["AC_NAME"]), Kind.ASSEMBLY, pc, electors=ac_electors)
        )
        if with_booths and ac_electors:
            ac_name = display_name(row["AC_NAME"])
            for number in range(1, math.ceil(ac_electors / ELECTORS_PER_BOOTH) + 1):
                nodes.append(
                    NodeSpec(
                        booth_code(st, ac_number, number),
                        f"{ac_name} booth {number}",
                        Kind.BOOTH,
                        ac,
                        is_generated=True,
                    )
                )
    if wanted is not None and (missing := wanted - states.keys()):
        raise ValueError(f"Unknown state code(s): {', '.join(sorted(missing))}")
    return states
