"""The Election Commission's reference data (groups/data/, see PROVENANCE.md) as tree nodes.

Two editions of the list: "2024" (the default; the constituencies of the 2024 general election:
national > 36 states and union territories > 543 Lok Sabha constituencies > 4,123 assembly
constituencies) and "2008" (the 2008 delimitation order as first drawn: 35 states and UTs, 543,
4,120), each with one stand-in "assembly constituency" per Lok Sabha constituency of a UT
without a legislature, which holds its booths. Optionally generated booths: ceil(electors / 880)
per assembly constituency, the electors from the 2014 roll (an estimate where the constituency
was redrawn after 2014).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from groups.models import Designation, Kind

DATA_DIR = Path(__file__).resolve().parent / "data"
ELECTORS_CSV = DATA_DIR / "eci-2014-electors-by-ac.csv"
# India had 927,553 polling stations for 814.6 million electors in 2014: about 880 each.
ELECTORS_PER_BOOTH = 880

NATIONAL_CODE = "IN"

STATE_NAMES_HINDI_2008 = {
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
# ECI's 2024 codes: S09 (the state of J&K) and U04 (Daman and Diu) are gone; J&K is U08.
STATE_NAMES_HINDI_2024 = {
    **{code: name for code, name in STATE_NAMES_HINDI_2008.items() if code not in {"S09", "U04"}},
    "S29": "तेलंगाना",
    "U03": "दादरा और नगर हवेली और दमन और दीव",
    "U08": "जम्मू और कश्मीर",
    "U09": "लद्दाख",
}


@dataclass(frozen=True)
class Edition:
    """One edition of the list of constituencies."""

    year: str
    constituencies_csv: Path
    state_names_hindi: Mapping[str, str]
    # UTs without a legislature: their one row per Lok Sabha constituency is a stand-in AC.
    without_assembly: frozenset[str]
    # Codes of the other edition that this one does not have: a tree holding one of them
    # (active) was loaded from the other list and must be delimited, not loaded over.
    foreign_codes: frozenset[str]


EDITIONS = {
    "2024": Edition(
        "2024",
        DATA_DIR / "eci-2024-constituencies.csv",
        STATE_NAMES_HINDI_2024,
        without_assembly=frozenset({"U01", "U02", "U03", "U06", "U09"}),
        foreign_codes=frozenset({"S09", "U04"}),
    ),
    "2008": Edition(
        "2008",
        DATA_DIR / "eci-2008-constituencies.csv",
        STATE_NAMES_HINDI_2008,
        without_assembly=frozenset({"U01", "U02", "U03", "U04", "U06"}),
        foreign_codes=frozenset({"S29", "U08", "U09"}),
    ),
}
DEFAULT_EDITION = "2024"


def edition_get(year: str) -> Edition:
    try:
        return EDITIONS[year]
    except KeyError:
        raise ValueError(
            f"Unknown edition {year!r} of the reference list: {', '.join(sorted(EDITIONS))}."
        ) from None


# --- Names as people write them ------------------------------------------------------------

_SMALL_WORDS = {"AND", "OF", "THE"}
_KEEP_UPPER = {"NCT"}
_ROMAN_NUMERAL = re.compile(r"(?:I{1,3}|IV|VI{0,3}|IX|X)")
# Names the rules below would get wrong.
_NAMES_AS_WRITTEN = {
    "B.H.E.L RANIPUR": "BHEL Ranipur",
    "CHRAR-I-SHARIEF": "Chrar-i-Sharief",
    "VASCO-DA-GAMA": "Vasco-da-Gama",
}


def display_name(upper: str) -> str:
    """A name of the data (all capitals) as people write it.

    'NCT OF DELHI' -> 'NCT of Delhi', 'JAMMU & KASHMIR' -> 'Jammu and Kashmir',
    'AIZAWL EAST-II' -> 'Aizawl East-II', 'R.S. PURA-JAMMU SOUTH' -> 'R.S. Pura-Jammu South',
    'ST.CRUZ' -> 'St. Cruz', 'B.T.M.LAYOUT' -> 'B.T.M. Layout'.
    """
    upper = " ".join(upper.split())
    if upper in _NAMES_AS_WRITTEN:
        return _NAMES_AS_WRITTEN[upper]
    upper = re.sub(r"\s*&\s*", " AND ", upper)
    # A word run on after an abbreviation gets its space: "DR.AMBEDKARNAGAR", "T.NARASIPUR".
    # Initials stay together: "R.S. PURA", "S.A.S. NAGAR".
    upper = re.sub(r"\.(?=[A-Z]{2,})", ". ", upper)
    words = []
    for index, word in enumerate(upper.split(" ")):
        if word in _KEEP_UPPER:
            words.append(word)
        elif word in _SMALL_WORDS and index > 0:
            words.append(word.lower())
        else:
            parts = word.split("-")
            words.append(
                "-".join(
                    _title_part(part, last=len(parts) > 1 and position == len(parts) - 1)
                    for position, part in enumerate(parts)
                )
            )
    return " ".join(words)


def _title_part(part: str, *, last: bool) -> str:
    # A numbered seat ends in a Roman numeral: "AIZAWL EAST-II", "DIMAPUR-III".
    if last and _ROMAN_NUMERAL.fullmatch(part):
        return part
    # Capitalise each run of letters: "(MADHYA)" -> "(Madhya)", "R.S." -> "R.S.".
    return re.sub(r"[A-Za-z]+", lambda run: run.group(0).capitalize(), part)


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
    designation: str = Designation.NONE
    electors_estimated: bool = False


NATIONAL = NodeSpec(NATIONAL_CODE, "India", Kind.NATIONAL, None, name_local="भारत")


# --- Electors -------------------------------------------------------------------------------


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


@cache
def electors_2014_by_code() -> dict[tuple[str, int], int]:
    """(2008 state code, 2008 AC number) -> electors in the 2014 roll, which was drawn on the
    2008 constituencies."""
    by_name = electors_by_ac()
    return {
        (state_code(row["ST_CODE"]), int(row["AC_CODE"])): by_name[
            (row["ST_NAME"].strip(), int(row["AC_CODE"]))
        ]
        for row in _rows(EDITIONS["2008"])
    }


# Where a 2024 AC stands on the ground of 2008 ACs under other codes (the 2014 roll of those
# is its own): Telangana took Andhra Pradesh's ACs 1-119 with their numbers, Andhra Pradesh
# kept 120-294, numbered less 119 (AP Reorganisation Act 2014); Daman and Diu (U04) and
# Dadra and Nagar Haveli (U03) merged as U03's ACs 1 and 2 (2020); Ladakh is the 2008 Lok
# Sabha constituency of Ladakh, J&K's ACs 47-50 (Nobra, Leh, Kargil, Zanskar).
LADAKH_2008_ACS = (47, 48, 49, 50)


def _ground_2008(st: str, ac_number: int) -> list[tuple[str, int]]:
    if st == "S29":
        return [("S01", ac_number)]
    if st == "S01":
        return [("S01", ac_number + 119)]
    if st == "U03":
        return [("U04", 1)] if ac_number == 1 else [("U03", 1)]
    if st == "U09":
        return [("S09", number) for number in LADAKH_2008_ACS]
    return [(st, ac_number)]


# States redrawn since 2014 (Assam in 2023, J&K in 2022): the 2008 ACs whose electors are
# spread evenly over the new ACs, for want of a per-AC roll of the new ones.
def _redrawn_from_2008(st: str, roll: Mapping[tuple[str, int], int]) -> list[tuple[str, int]]:
    if st == "S03":
        return [key for key in roll if key[0] == "S03"]
    if st == "U08":
        return [key for key in roll if key[0] == "S09" and key[1] not in LADAKH_2008_ACS]
    return []


def electors_of(edition: Edition) -> dict[tuple[str, int], tuple[int, bool]]:
    """(state code, AC number) of the edition -> (electors, whether that is an estimate)."""
    roll = electors_2014_by_code()
    if edition.year == "2008":
        return {key: (count, False) for key, count in roll.items()}
    ac_numbers: dict[str, list[int]] = {}
    for row in _rows(edition):
        ac_numbers.setdefault(state_code(row["ST_CODE"]), []).append(int(row["AC_CODE"]))
    electors = {}
    for st, numbers in ac_numbers.items():
        redrawn = _redrawn_from_2008(st, roll)
        if redrawn:
            # The state's whole roll, shared out so that the ACs add up to it exactly.
            share, remainder = divmod(sum(roll[key] for key in redrawn), len(numbers))
            for index, number in enumerate(sorted(numbers)):
                electors[(st, number)] = (share + (index < remainder), True)
        else:
            for number in numbers:
                electors[(st, number)] = (sum(roll[key] for key in _ground_2008(st, number)), False)
    return electors


# --- The tree -------------------------------------------------------------------------------


def _rows(edition: Edition) -> list[dict[str, str]]:
    with edition.constituencies_csv.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def tree_specs(
    *,
    with_booths: bool,
    state_codes: Iterable[str] | None = None,
    edition: str = DEFAULT_EDITION,
) -> dict[str, list[NodeSpec]]:
    """Nodes of each state's tree (the state first), keyed by state code, in code order."""
    chosen = edition_get(edition)
    wanted = {state_code(code) for code in state_codes} if state_codes else None
    electors = electors_of(chosen)
    states: dict[str, list[NodeSpec]] = {}
    seen_pcs: set[str] = set()
    rows = sorted(
        _rows(chosen), key=lambda row: (row["ST_CODE"], int(row["PC_CODE"]), int(row["AC_CODE"]))
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
                    name_local=chosen.state_names_hindi.get(st, ""),
                    # ECI's codes: S.. for a state, U.. for a union territory.
                    designation=Designation.UNION_TERRITORY if st.startswith("U") else "",
                )
            ]
        pc = pc_code(st, int(row["PC_CODE"]))
        if pc not in seen_pcs:
            seen_pcs.add(pc)
            nodes.append(NodeSpec(pc, display_name(row["PC_NAME"]), Kind.PARLIAMENTARY, st))
        ac_number = int(row["AC_CODE"])
        ac = ac_code(st, ac_number)
        ac_name = display_name(row["AC_NAME"])
        ac_electors, estimated = electors.get((st, ac_number), (None, False))
        nodes.append(
            NodeSpec(
                ac,
                ac_name,
                Kind.ASSEMBLY,
                pc,
                electors=ac_electors,
                electors_estimated=estimated,
                designation=(
                    Designation.WHOLE_CONSTITUENCY if st in chosen.without_assembly else ""
                ),
            )
        )
        if with_booths and ac_electors:
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
        raise ValueError(
            f"Unknown state code(s) in the {chosen.year} list: {', '.join(sorted(missing))}"
        )
    return states


# --- The delimitation from the 2008 list to the 2024 one ------------------------------------

MAPPING_2008_2024_CSV = DATA_DIR / "delimitation-2008-2024.csv"
MAPPING_COLUMNS = ("action", "old_code", "new_code", "above", "kind", "name", "name_local",
                   "electors", "designation", "electors_estimated")  # fmt: skip
# States redrawn since 2008 (no constituency-level order): their 2008 ACs are retired, their
# booths listed for a lead to place, and the new ACs created from the 2024 list. Assam keeps
# its state and PC nodes (same codes, the 2024 names); J&K's state node S09 is retired whole
# and U08 (J&K) and U09 (Ladakh) are created. Ladakh is all of J&K's ACs 47-50: they are
# merged into its one AC (their booths go there, renumbered after its own), not retired.
REDRAWN_2008 = ("S03", "S09")
# Telangana's share of Andhra Pradesh's 2008 numbers (AP Reorganisation Act 2014).
TELANGANA_LAST_PC, TELANGANA_LAST_AC = 17, 119
_KIND_WORD = {Kind.STATE: "state", Kind.PARLIAMENTARY: "pc", Kind.ASSEMBLY: "ac"}
# The file's words (groups.delimitation.reading): "none" clears a designation.
_DESIGNATION_WORD = {
    Designation.NONE: "none",
    Designation.UNION_TERRITORY: "union_territory",
    Designation.WHOLE_CONSTITUENCY: "whole_constituency",
}
LADAKH_2024_AC = "U09-AC-001"


def _code_2024(code: str) -> str | None:
    """A 2008 node's code in the 2024 tree when it stands on the same ground; None when it is
    retired (U04, whose one PC moves into U03, and the redrawn states' nodes)."""
    parts = code.split("-")
    st = parts[0]
    if st == "S09" or (st == "S03" and len(parts) == 3 and parts[1] == "AC"):
        return None
    if len(parts) == 1:
        return None if st == "U04" else st
    level, number = parts[1], int(parts[2])
    if st == "S01":
        last = TELANGANA_LAST_PC if level == "PC" else TELANGANA_LAST_AC
        if number <= last:
            return "-".join(["S29", *parts[1:]])
        width = len(parts[2])
        return f"S01-{level}-{number - last:0{width}d}"
    # Dadra and Nagar Haveli and Daman and Diu: PC/AC 1 Daman and Diu (2008 U04), 2 Dadra and
    # Nagar Haveli (2008 U03).
    if st == "U03":
        return f"U03-{level}-{number + 1:0{len(parts[2])}d}"
    if st == "U04":
        return "-".join(["U03", *parts[1:]])
    return code


def mapping_2008_2024_rows() -> list[dict[str, str]]:
    """The mapping (groups/delimitation's file format) that turns a tree loaded from the 2008
    list into the 2024 one: codes, names, parents, designations and electors (with their
    estimate mark) as a fresh 2024 load writes them. Written to
    groups/data/delimitation-2008-2024.csv by `manage.py groups_mapping_2008_2024`."""
    old = {s.code: s for nodes in tree_specs(with_booths=False, edition="2008").values()
           for s in nodes}  # fmt: skip
    new = {s.code: s for nodes in tree_specs(with_booths=False, edition="2024").values()
           for s in nodes}  # fmt: skip
    rows: list[dict[str, str]] = []

    def row(action: str, **values: object) -> None:
        rows.append({column: str(values.get(column) or "") for column in MAPPING_COLUMNS}
                    | {"action": action})  # fmt: skip

    kept: set[str] = set()
    for code, spec in old.items():
        target = _code_2024(code)
        if target is None:
            continue
        after = new.get(target)
        if after is None or after.kind != spec.kind:
            raise ValueError(f"{code} maps to {target}, which the 2024 list lacks or differs.")
        kept.add(target)
        parent_after = _code_2024(spec.parent_code) if spec.parent_code else None
        changes = {
            "new_code": target if target != code else "",
            "above": after.parent_code if after.parent_code != parent_after else "",
            "name": after.name if after.name != spec.name else "",
            "name_local": after.name_local if after.name_local != spec.name_local else "",
            "electors": after.electors if after.electors != spec.electors else "",
            "designation": (
                _DESIGNATION_WORD[after.designation]
                if after.designation != spec.designation
                else ""
            ),
            "electors_estimated": (
                ("yes" if after.electors_estimated else "no")
                if after.electors_estimated != spec.electors_estimated
                else ""
            ),
        }
        if any(changes.values()):
            row("move", old_code=code, kind=_KIND_WORD[spec.kind], **changes)
    for code, spec in new.items():
        if code not in kept:
            row("create", new_code=code, above=spec.parent_code or "",
                kind=_KIND_WORD[spec.kind], name=spec.name, name_local=spec.name_local,
                electors=spec.electors,
                designation=_DESIGNATION_WORD[spec.designation] if spec.designation else "",
                electors_estimated="yes" if spec.electors_estimated else "")  # fmt: skip
    for code, spec in old.items():
        if _code_2024(code) is not None:
            continue
        st = code.split("-")[0]
        if spec.kind == Kind.STATE:
            row("retire", old_code=code, kind="state")
        elif st == "S09" and code in {ac_code(st, number) for number in LADAKH_2008_ACS}:
            row("merge", old_code=code, above=LADAKH_2024_AC, kind="ac")
        elif st == "S03":
            # New ACs take these codes: the old ones keep theirs for history.
            row("retire", old_code=code, new_code=code.replace("S03-", "S03-2008-", 1),
                kind=_KIND_WORD[spec.kind])  # fmt: skip
    return rows


def mapping_2008_2024_csv() -> str:
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MAPPING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(mapping_2008_2024_rows())
    return out.getvalue()
