"""Checking the rows of a member list against its column mapping: one validation, shared by
the check (dry run) and the run."""

from __future__ import annotations

import datetime
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cadreconnect import permissions
from cadreconnect.permissions import Action
from cadreconnect.validation import CONTROL_CHARACTERS
from groups.models import Group, Kind
from groups.selectors import Scope
from members.models import Member
from members.validation import (
    birth_year_bounds,
    epic_normalise,
    joined_on_earliest,
    phone_normalise,
)

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
BOOTHS_KEPT = 200_000  # booths an import remembers (about 50 MB)
# The register's fields, as the wizard and its problems name them.
TARGET_LABELS = {
    "full_name": gettext_lazy("Name"),
    "name_local": gettext_lazy("Name in the local script"),
    "phone": gettext_lazy("Phone"),
    "whatsapp_number": gettext_lazy("WhatsApp number"),
    "email": gettext_lazy("E-mail"),
    "gender": gettext_lazy("Gender"),
    "birth_year": gettext_lazy("Birth year"),
    "epic": gettext_lazy("Voter id (EPIC)"),
    "booth": gettext_lazy("Booth code"),
    "status": gettext_lazy("Status"),
    "joined_on": gettext_lazy("Joined on"),
    "consent_whatsapp": gettext_lazy("WhatsApp consent"),
    "consent_sms": gettext_lazy("SMS consent"),
}
# Control characters a cell may not hold (tabs and line breaks may): PostgreSQL refuses NUL in
# text, and none of them belongs in a name or a number.


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


ERROR = "error"
WARNING = "warning"


@dataclass(slots=True)
class RowProblem:
    """A problem of one row: an error rejects the row; a warning (an optional field that
    fails its check) leaves the field empty and lands the row. `code` is stable."""

    row: int
    column: str
    code: str
    message: str
    severity: str = ERROR

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.message, "severity": self.severity}  # fmt: skip


@dataclass(slots=True)
class CheckedRow:
    line: int
    phone: str
    # The member's columns (MEMBER_COLUMNS), then the consents the file gives: the row as
    # the writer stages it (STAGING_COLUMNS), with nothing to build again.
    record: tuple
    warnings: list[RowProblem] | None = None

    @property
    def consent_whatsapp(self) -> bool:
        return self.record[-2]

    @property
    def consent_sms(self) -> bool:
        return self.record[-1]


@dataclass
class BoothLookup:
    """Booth code -> (id, tree_id, state id), limited to the area where the user may import
    (the permission table's MEMBER_IMPORT scope); cached. Also says which phones of a batch
    belong to members outside that area."""

    user: User
    found: dict[str, tuple[int, int, int | None] | None] = field(default_factory=dict)
    # tree_id -> the id of its state, for every tree (read with the first batch).
    states: dict[int, int | None] | None = None

    @property
    def scope(self) -> Scope:
        return permissions.action_scope(self.user, Action.MEMBER_IMPORT)

    def resolve(self, codes: set[str]) -> None:
        """Look up the batch's new booth codes set-wise: one query per batch, whatever the
        number of booths.

        A file spread over the whole tree meets new booths in nearly every batch (a million
        rows over 927,741 booths: each batch's 2,000 rows, 2,000 booths). So the booths come
        as plain rows (not model instances) through one array parameter (not 2,000 to
        compile), and every tree's state is read once per import: building 2,000 mptt
        instances a batch, and three more queries for their states, held the reading thread
        (and so the import) to a third of the database's own rate."""
        if len(self.found) > BOOTHS_KEPT:
            # Memory stays flat however many booths the file names; a file over fewer booths
            # (one state's, say) never comes here and looks each up once.
            self.found.clear()
        self.found.update(self.look_up(codes))

    def look_up(self, codes: set[str]) -> dict[str, tuple[int, int, int | None] | None]:
        """What `resolve` adds for these codes, without adding it (safe to run in another
        thread, with its own database connection, while this one checks a batch)."""
        from members.importing import sql

        found = self.found
        missing = [code for code in codes if code and code not in found]
        if not missing:
            return {}
        if self.states is None:
            self.states = _states_of_trees()
        scope = self.scope
        states = self.states
        entries: dict[str, tuple[int, int, int | None] | None] = dict.fromkeys(missing)
        rows = sql.active_booths(missing)
        if not scope.everything:
            inside = scope.contains_position
            rows = [row for row in rows if inside(row[2], row[3])]
        # (A comprehension: over the whole tree this runs for nearly every row of the file.)
        entries.update({code: (booth_id, tree_id, states.get(tree_id))
                        for booth_id, code, tree_id, _lft in rows})  # fmt: skip
        return entries

    def members_elsewhere(self, phones: list[str]) -> set[str]:
        """The phones (of one batch) registered to members outside the user's import area:
        one query per batch, none for a user who may import everywhere."""
        from members.importing import sql

        scope = self.scope
        if scope.everything or not phones:
            return set()
        return {
            phone
            for phone, tree_id, lft in sql.members_spots(phones)
            if not scope.contains_position(tree_id, lft)
        }


def _states_of_trees() -> dict[int, int | None]:
    """tree_id -> id of the state each tree belongs to: the tree's root if that is a state,
    else the root of the tree the root hangs from (see groups.models). One query over the
    roots (a tree's root has no parent): a few thousand rows for the whole of India."""
    roots = {
        tree_id: (node_id, kind, upper_tree_id)
        for node_id, tree_id, kind, upper_tree_id in Group.objects.filter(parent__isnull=True)
        .order_by()
        .values_list("id", "tree_id", "kind", "upper__tree_id")
    }
    states: dict[int, int | None] = {}
    for tree_id, (node_id, kind, upper_tree_id) in roots.items():
        if kind == Kind.STATE:
            states[tree_id] = node_id
            continue
        top_id, top_kind, _ = roots.get(upper_tree_id, (None, None, None))
        states[tree_id] = top_id if top_kind == Kind.STATE else None
    return states


CELLS = tuple(TARGETS)  # a row's cells, in this order (RowChecker.__call__ unpacks them so)
STATUSES = frozenset(Member.Status.values)
ACTIVE = Member.Status.ACTIVE
ANSWERS = {**dict.fromkeys(NO, False), **dict.fromkeys(YES, True)}  # a consent, lowercased


class RowChecker:
    """Checks the rows of one file against its column mapping: the one validation of a row,
    used by the check (dry run) and by the run alike, so that a file that passes its check
    writes every row it promised.

    The column lookups are worked out once per file, and a row's cells are read into local
    names (no object per row but the result), so that a row costs a few microseconds: this
    runs a million times in the thread that sets a large import's pace.
    """

    def __init__(
        self, mapping: dict[str, int], *, default_booth: str = "", cell_chars: int | None = None
    ) -> None:
        self.width = max(mapping.values(), default=-1) + 1
        # A target with no column reads the padding cell after the last mapped one: always "".
        self.pick = operator.itemgetter(*(mapping.get(target, self.width) for target in CELLS))
        self.padding = [""] * (self.width + 1)
        self.booth_index = mapping.get("booth", self.width)
        self.default_booth = default_booth.strip().upper()
        self.cell_chars = cell_chars or settings.MEMBER_IMPORT_MAX_CELL_CHARS
        self.today = timezone.localdate()  # the party's day, as the form has it
        self.birth_years = birth_year_bounds(self.today)
        self.oldest_joining = joined_on_earliest(self.today)

    def booth_codes(self, lines: list[tuple[int, list[str]]]) -> set[str]:
        """The booth codes of a batch of (line, values): each row's, or the booth for the whole
        file where the row has none."""
        index = self.booth_index
        codes = {values[index].strip().upper() if index < len(values) else ""
                 for _, values in lines}  # fmt: skip
        if "" in codes and self.default_booth:
            codes.discard("")
            codes.add(self.default_booth)
        return codes

    def __call__(
        self, values: list[str], line: int, booths: BoothLookup
    ) -> CheckedRow | list[RowProblem]:
        """A CheckedRow (with warnings about optional fields left empty, if any), or the list
        of the row's problems (row, column, code, message)."""
        row = values[: self.width]
        row += self.padding[len(row) :]
        cells = list(map(str.strip, self.pick(row)))
        joined = "".join(cells)
        warnings: list[RowProblem] = []
        limit = self.cell_chars
        # No cell is longer than the limit when all of them together are not.
        if (len(joined) > limit and max(map(len, cells)) > limit) or CONTROL_CHARACTERS.search(
            joined
        ):
            cells, problems = self._unreadable_cells(cells, line, warnings)
            if problems:
                return problems
        (full_name, name_local, phone_cell, whatsapp_cell, email_cell, gender_cell, birth_cell,
         epic_cell, booth_cell, status_cell, joined_cell, whatsapp_consent_cell,
         sms_consent_cell) = cells  # fmt: skip
        problems: list[RowProblem] = []
        if not full_name:
            problems.append(RowProblem(line, "full_name", "name_missing", _("the name is empty")))
        elif len(full_name) > 200:
            problems.append(RowProblem(line, "full_name", "name_too_long",
                                       _("the name is longer than 200 characters")))  # fmt: skip
        phone = ""
        try:
            phone = phone_normalise(phone_cell)
        except ValidationError as error:
            problems.append(RowProblem(line, "phone", "phone_invalid", " ".join(error.messages)))
        booth_code = booth_cell.upper() or self.default_booth
        booth = booths.found.get(booth_code) if booth_code else None
        if not booth_code:
            problems.append(RowProblem(line, "booth", "booth_missing",
                                       _("the booth code is empty")))  # fmt: skip
        elif booth is None:
            problems.append(RowProblem(
                line, "booth", "booth_unknown",
                _("no active booth %(code)s in your area") % {"code": booth_code[:40]},
            ))  # fmt: skip
        if problems:
            return problems
        # Optional fields: one that fails its check is left empty, with a warning. (An empty
        # cell, the most common by far, is tested first.)
        if len(name_local) > 200:
            name_local = ""
            warnings.append(self._warning(line, "name_local", "name_local_too_long",
                                          _("longer than 200 characters")))  # fmt: skip
        whatsapp = ""
        if whatsapp_cell:
            try:
                whatsapp = phone_normalise(whatsapp_cell)
            except ValidationError as error:
                warnings.append(self._warning(line, "whatsapp_number", "whatsapp_invalid",
                                              " ".join(error.messages)))  # fmt: skip
        epic = ""
        if epic_cell:
            try:
                epic = epic_normalise(epic_cell)
            except ValidationError as error:
                warnings.append(
                    self._warning(line, "epic", "epic_invalid", " ".join(error.messages))
                )
        email = ""
        if email_cell:
            try:
                if len(email_cell) > 254:
                    raise ValidationError("too long")
                validate_email(email_cell)
                email = email_cell
            except ValidationError:
                warnings.append(self._warning(
                    line, "email", "email_invalid",
                    _("“%(value)s” is not an e-mail address") % {"value": email_cell[:60]},
                ))  # fmt: skip
        gender = GENDERS.get(gender_cell.lower())
        if gender is None:
            gender = ""
            warnings.append(self._warning(line, "gender", "gender_invalid",
                                          _("use female, male or other")))  # fmt: skip
        birth_year = None
        if birth_cell:
            oldest, youngest = self.birth_years
            if birth_cell.isdigit() and oldest <= int(birth_cell) <= youngest:
                birth_year = int(birth_cell)
            else:
                warnings.append(self._warning(
                    line, "birth_year", "birth_year_invalid",
                    _("“%(value)s” is not a year between %(oldest)s and %(youngest)s")
                    % {"value": birth_cell[:10], "oldest": oldest, "youngest": youngest},
                ))  # fmt: skip
        status = status_cell.lower() if status_cell else ACTIVE
        if status not in STATUSES:
            status = ACTIVE
            warnings.append(self._warning(
                line, "status", "status_invalid",
                _("use one of %(choices)s") % {"choices": ", ".join(Member.Status.values)},
            ))  # fmt: skip
        joined_on = self.today
        if joined_cell:
            try:
                joined = datetime.date.fromisoformat(joined_cell[:10])
            except ValueError:
                joined = None
            if joined is not None and self.oldest_joining <= joined <= self.today:
                joined_on = joined
            else:
                warnings.append(self._warning(
                    line, "joined_on", "joined_on_invalid",
                    _("“%(value)s” is not a past date like 2024-03-31")
                    % {"value": joined_cell[:20]},
                ))  # fmt: skip
        consent_whatsapp = ANSWERS.get(whatsapp_consent_cell.lower())
        if consent_whatsapp is None:
            consent_whatsapp = False
            warnings.append(self._warning(line, "consent_whatsapp", "consent_invalid",
                                          _("answer yes or no")))  # fmt: skip
        consent_sms = ANSWERS.get(sms_consent_cell.lower())
        if consent_sms is None:
            consent_sms = False
            warnings.append(self._warning(line, "consent_sms", "consent_invalid",
                                          _("answer yes or no")))  # fmt: skip
        booth_id, tree_id, state_id = booth
        record = (full_name, name_local, phone, whatsapp, email, gender, birth_year, epic,
                  booth_id, tree_id, state_id, status, joined_on, consent_whatsapp,
                  consent_sms)  # fmt: skip
        return CheckedRow(line, phone, record, warnings or None)

    @staticmethod
    def _warning(line: int, column: str, code: str, message: str) -> RowProblem:
        return RowProblem(line, column, code, message, WARNING)

    def _unreadable_cells(
        self, cells: list[str], line: int, warnings: list[RowProblem]
    ) -> tuple[list[str], list[RowProblem]]:
        """Cells too long or holding a control character: an error in a required field, a
        warning (and the field left empty) in an optional one."""
        problems: list[RowProblem] = []
        cleaned = list(cells)
        for index, (target, value) in enumerate(zip(CELLS, cells, strict=True)):
            if len(value) > self.cell_chars:
                code = "cell_too_long"
                message = _("longer than %(limit)s characters") % {"limit": self.cell_chars}
            elif CONTROL_CHARACTERS.search(value):
                code = "control_character"
                message = _("holds a control character (such as NUL), which is not allowed")
            else:
                continue
            if target in REQUIRED_TARGETS:
                problems.append(RowProblem(line, target, code, message))
            else:
                cleaned[index] = ""
                warnings.append(self._warning(line, target, code, message))
        return cleaned, problems


def missing_targets(mapping: dict[str, int], *, default_booth: bool) -> list[str]:
    """The required fields the mapping gives no column for (the booth may come from the
    booth for the whole file)."""
    return [
        target for target in REQUIRED_TARGETS
        if target not in mapping and not (target == "booth" and default_booth)
    ]  # fmt: skip


def column_label(target: str) -> str:
    return str(TARGET_LABELS.get(target, target))


# The order of CheckedRow.record: a member's columns, then the consents to record.
MEMBER_COLUMNS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth_id", "tree_id", "state_id", "status", "joined_on",
]  # fmt: skip
STAGING_COLUMNS = [*MEMBER_COLUMNS, "consent_whatsapp", "consent_sms"]
