"""Checking the rows of a member list against its column mapping: one validation, shared by
the check (dry run) and the run."""

from __future__ import annotations

import datetime
import operator
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import User
from groups import selectors as group_selectors
from groups.models import Group, Kind
from members.models import Member
from members.validation import epic_normalise, phone_normalise

# What a column can hold, with the header names we recognise for it.
TARGETS: dict[str, tuple[str, ...]] = {
    "full_name": ("full_name", "name", "full name", "member name", "naam", "नाम"),
    "name_local": ("name_local", "local name", "name in local script", "hindi name",
                   "हिंदी नाम", "स्थानीय नाम"),
    "phone": ("phone", "mobile", "mobile number", "phone number", "contact", "मोबाइल", "फ़ोन"),
    "whatsapp_number": ("whatsapp_number", "whatsapp", "whatsapp number", "व्हाट्सऐप"),
    "email": ("email", "e-mail", "email address"),
    "gender": ("gender", "sex", "लिंग"),
    "birth_year": ("birth_year", "birth year", "year of birth", "yob"),
    "epic": ("epic", "voter id", "epic number", "voter id number", "मतदाता पहचान पत्र"),
    "booth": ("booth", "booth code", "booth_code", "बूथ"),
    "status": ("status",),
    "joined_on": ("joined_on", "joined", "joining date", "date joined"),
    "consent_whatsapp": ("consent_whatsapp", "whatsapp consent"),
    "consent_sms": ("consent_sms", "sms consent"),
}  # fmt: skip
REQUIRED_TARGETS = ("full_name", "phone", "booth")
GENDERS = {"f": "f", "female": "f", "m": "m", "male": "m", "x": "x", "other": "x", "": ""}
YES = {"yes", "y", "true", "1", "हाँ", "haan"}
NO = {"no", "n", "false", "0", "नहीं", ""}
MAX_CELL = 1000


def guess_mapping(headers: Sequence[str]) -> dict[str, int]:
    """Target field -> column index, from the header names we recognise."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = " ".join(header.strip().lower().replace("_", " ").split())
        for target, names in TARGETS.items():
            if target not in mapping and name in {n.replace("_", " ") for n in names}:
                mapping[target] = index
                break
    return mapping


@dataclass
class RowProblem:
    row: int
    column: str
    message: str


@dataclass(slots=True)
class CheckedRow:
    line: int
    phone: str
    record: tuple  # in the order of MEMBER_COLUMNS
    consent_whatsapp: bool
    consent_sms: bool


@dataclass
class BoothLookup:
    """Booth code -> (id, tree_id, state id), limited to the importer's scope; cached."""

    user: User
    found: dict[str, tuple[int, int, int | None] | None] = field(default_factory=dict)

    def resolve(self, codes: set[str]) -> None:
        """Look up the batch's new booth codes set-wise: a few queries per batch, whatever
        the number of booths."""
        missing = [code for code in codes if code and code not in self.found]
        if not missing:
            return
        scope = group_selectors.user_scope(self.user)
        booths = list(
            Group.objects.filter(code__in=missing, kind=Kind.BOOTH, is_active=True).only(
                "id", "code", "tree_id", "lft", "rght"
            )
        )
        states = _states_of_trees({booth.tree_id for booth in booths})
        for booth in booths:
            if scope.contains(booth):
                self.found[booth.code] = (booth.pk, booth.tree_id, states.get(booth.tree_id))
        for code in missing:
            self.found.setdefault(code, None)


def _states_of_trees(tree_ids: set[int]) -> dict[int, int | None]:
    """tree_id -> id of the state it belongs to: the tree's root if that is a state, else the
    root of the tree the root hangs from (see groups.models)."""
    roots = {
        tree_id: (node_id, kind, upper_id)
        for node_id, tree_id, kind, upper_id in Group.objects.filter(
            parent__isnull=True, tree_id__in=tree_ids
        ).values_list("id", "tree_id", "kind", "upper_id")
    }
    upper_trees = dict(
        Group.objects.filter(pk__in=[upper for _, _, upper in roots.values() if upper]).values_list(
            "id", "tree_id"
        )
    )
    upper_roots = {
        tree_id: (node_id, kind)
        for node_id, tree_id, kind in Group.objects.filter(
            parent__isnull=True, tree_id__in=set(upper_trees.values())
        ).values_list("id", "tree_id", "kind")
    }
    states: dict[int, int | None] = {}
    for tree_id, (node_id, kind, upper_id) in roots.items():
        if kind == Kind.STATE:
            states[tree_id] = node_id
        elif upper_id and upper_id in upper_trees:
            top_id, top_kind = upper_roots.get(upper_trees[upper_id], (None, None))
            states[tree_id] = top_id if top_kind == Kind.STATE else None
        else:
            states[tree_id] = None
    return states


_Cells = namedtuple("_Cells", list(TARGETS))
STATUSES = frozenset(Member.Status.values)


class RowChecker:
    """Checks the rows of one file against its column mapping.

    The column lookups are worked out once per file, so that a row costs a few microseconds:
    a million-row file spends seconds here, not minutes.
    """

    def __init__(self, mapping: dict[str, int]) -> None:
        self.width = max(mapping.values(), default=-1) + 1
        # A target with no column reads the padding cell after the last mapped one: always "".
        self.pick = operator.itemgetter(*(mapping.get(target, self.width) for target in TARGETS))
        self.padding = [""] * (self.width + 1)
        self.booth_index = mapping.get("booth", self.width)
        self.today = datetime.date.today()

    def booth_code(self, values: list[str]) -> str:
        return (values[self.booth_index] if self.booth_index < len(values) else "").strip().upper()

    def __call__(
        self, values: list[str], line: int, booths: BoothLookup
    ) -> CheckedRow | list[RowProblem]:
        """A CheckedRow, or the list of the row's problems (row, column, message)."""
        row = values[: self.width]
        row += self.padding[len(row) :]
        cells = [value.strip() for value in self.pick(row)]
        if max(map(len, cells)) > MAX_CELL:
            return [
                RowProblem(line, target, f"longer than {MAX_CELL} characters")
                for target, value in zip(TARGETS, cells, strict=True)
                if len(value) > MAX_CELL
            ]
        cell = _Cells._make(cells)
        problems: list[RowProblem] = []
        if not cell.full_name:
            problems.append(RowProblem(line, "full_name", "the name is empty"))
        elif len(cell.full_name) > 200:
            problems.append(RowProblem(line, "full_name", "the name is longer than 200 characters"))
        phone = whatsapp = epic = ""
        try:
            phone = phone_normalise(cell.phone)
        except ValidationError as error:
            problems.append(RowProblem(line, "phone", " ".join(error.messages)))
        if cell.whatsapp_number:
            try:
                whatsapp = phone_normalise(cell.whatsapp_number)
            except ValidationError as error:
                problems.append(RowProblem(line, "whatsapp_number", " ".join(error.messages)))
        if cell.epic:
            try:
                epic = epic_normalise(cell.epic)
            except ValidationError as error:
                problems.append(RowProblem(line, "epic", " ".join(error.messages)))
        if cell.email:
            try:
                validate_email(cell.email)
            except ValidationError:
                problems.append(
                    RowProblem(line, "email", f"“{cell.email[:60]}” is not an e-mail address")
                )
        gender = GENDERS.get(cell.gender.lower())
        if gender is None:
            problems.append(RowProblem(line, "gender", "use female, male or other"))
        birth_year = None
        if cell.birth_year:
            year = cell.birth_year
            if not year.isdigit() or not 1900 <= int(year) <= self.today.year:
                problems.append(RowProblem(
                    line, "birth_year", f"“{year[:10]}” is not a year between 1900 and this year"
                ))  # fmt: skip
            else:
                birth_year = int(year)
        status = cell.status.lower() or Member.Status.ACTIVE
        if status not in STATUSES:
            problems.append(
                RowProblem(line, "status", f"use one of {', '.join(Member.Status.values)}")
            )
        joined_on = self.today
        if cell.joined_on:
            try:
                joined_on = datetime.date.fromisoformat(cell.joined_on[:10])
            except ValueError:
                problems.append(RowProblem(
                    line, "joined_on", f"“{cell.joined_on[:20]}” is not a date like 2024-03-31"
                ))  # fmt: skip
        booth_code = cell.booth.upper()
        booth = booths.found.get(booth_code) if booth_code else None
        if not booth_code:
            problems.append(RowProblem(line, "booth", "the booth code is empty"))
        elif booth is None:
            problems.append(
                RowProblem(line, "booth", f"no active booth {booth_code[:40]} in your area")
            )
        consents = []
        for target, answer in (("consent_whatsapp", cell.consent_whatsapp.lower()),
                               ("consent_sms", cell.consent_sms.lower())):  # fmt: skip
            if answer in YES:
                consents.append(True)
            elif answer in NO:
                consents.append(False)
            else:
                problems.append(RowProblem(line, target, "answer yes or no"))
        if problems:
            return problems
        booth_id, tree_id, state_id = booth
        record = (cell.full_name, cell.name_local[:200], phone, whatsapp, cell.email, gender,
                  birth_year, epic, booth_id, tree_id, state_id, status, joined_on)  # fmt: skip
        return CheckedRow(line, phone, record, *consents)


# The order of CheckedRow.record.
MEMBER_COLUMNS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth_id", "tree_id", "state_id", "status", "joined_on",
]  # fmt: skip
