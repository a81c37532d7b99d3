"""Reading a mapping file: bytes to checked rows, or a refusal that names every bad line.

Nothing here looks at the tree; `planning` does. A file is refused whole when it is too large,
holds a NUL byte or a control character, is not UTF-8, is not CSV, or its header is not
exactly the mapping's columns (in any order): a forged or misspelt column must not be
dropped silently, since a row without its `above` would mean "stays where it is". The two
columns added last (`designation`, `electors_estimated`) may be left out, as files written
before them do: a row without them changes neither.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from cadreconnect.exceptions import ApplicationError
from groups.models import Designation, Kind

COLUMNS = (
    "action", "old_code", "new_code", "above", "kind", "name", "name_local", "electors",
    "designation", "electors_estimated",
)  # fmt: skip
# Columns a header may leave out (the files written before them): empty in every row.
OPTIONAL_COLUMNS = ("designation", "electors_estimated")
ACTIONS = ("move", "create", "retire", "merge")
KIND_WORDS = {
    "state": Kind.STATE,
    "zone": Kind.ZONE,
    "district": Kind.DISTRICT,
    "pc": Kind.PARLIAMENTARY,
    "ac": Kind.ASSEMBLY,
    "mandal": Kind.MANDAL,
    "booth": Kind.BOOTH,
}
WORD_OF_KIND = {kind: word for word, kind in KIND_WORDS.items()}
# `none` clears a designation; an empty cell leaves it as it is.
DESIGNATION_WORDS = {
    "none": Designation.NONE,
    "union_territory": Designation.UNION_TERRITORY,
    "whole_constituency": Designation.WHOLE_CONSTITUENCY,
}
WORD_OF_DESIGNATION = {value: word for word, value in DESIGNATION_WORDS.items()}
YES_NO = {"yes": True, "no": False, "true": True, "false": False}
CODE_PATTERN = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
MAX_CODE = 64
MAX_NAME = 200
MAX_ELECTORS = 100_000_000
# A refusal lists this many problems; a file with more is wrong throughout.
MAX_PROBLEMS = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class MappingRow:
    line: int
    action: str
    old_code: str
    new_code: str
    above: str
    kind: int | None
    name: str
    name_local: str
    electors: int | None
    designation: str | None = None  # None: unchanged; Designation.NONE clears it
    electors_estimated: bool | None = None  # None: unchanged


class MappingRefused(ApplicationError):
    """The mapping is refused whole and nothing was written; `problems` are (line, message),
    line 0 for the file as a whole."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = sorted(problems)[:MAX_PROBLEMS]
        first = "; ".join(
            (_("line %(line)s: %(problem)s") % {"line": line, "problem": problem})
            if line
            else problem
            for line, problem in self.problems[:3]
        )
        super().__init__(
            _("The mapping was refused and nothing was changed: %(problems)s")
            % {"problems": first},
            code="mapping_refused",
            extra={"problems": [[line, problem] for line, problem in self.problems]},
        )


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mapping_read(data: bytes) -> list[MappingRow]:
    """The rows of a mapping file, each checked on its own (codes well formed, the fields its
    action needs); MappingRefused with every problem found, by line."""
    text = _text(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise MappingRefused(
            [(1, _("this is not a readable CSV file (%(error)s)") % {"error": error})]
        ) from error
    if header is None or not any(cell.strip() for cell in header):
        raise MappingRefused(
            [
                (
                    0,
                    _("The file is empty: its first line must be the header %(columns)s.")
                    % {"columns": ",".join(COLUMNS)},
                )
            ]
        )
    positions = _header(header)
    rows: list[MappingRow] = []
    problems: list[tuple[int, str]] = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= settings.GROUP_DELIMIT_MAX_ROWS:
                raise MappingRefused(
                    [
                        (
                            line,
                            _("the file has more than %(rows)s rows; split it by state.")
                            % {"rows": f"{settings.GROUP_DELIMIT_MAX_ROWS:,}"},
                        )
                    ]
                )
            if len(values) != len(header):
                problems.append(
                    (
                        line,
                        _("expected %(expected)s columns, found %(found)s")
                        % {"expected": len(header), "found": len(values)},
                    )
                )
            else:
                cells = {name: "" if at is None else values[at] for name, at in positions.items()}
                row, row_problems = _row(line, cells)
                problems.extend((line, problem) for problem in row_problems)
                if row is not None:
                    rows.append(row)
            if len(problems) >= MAX_PROBLEMS:
                break
    except csv.Error as error:
        problems.append(
            (
                reader.line_num,
                _("the file stops being readable CSV here (%(error)s)") % {"error": error},
            )
        )
    if problems:
        raise MappingRefused(problems)
    if not rows:
        raise MappingRefused([(0, _("The file has a header but no rows."))])
    return rows


def _text(data: bytes) -> str:
    limit = settings.GROUP_DELIMIT_MAX_BYTES
    if len(data) > limit:
        raise MappingRefused(
            [
                (
                    0,
                    _("The file is %(size)s bytes; a mapping may be at most %(limit)s bytes.")
                    % {"size": f"{len(data):,}", "limit": f"{limit:,}"},
                )
            ]
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise MappingRefused(
            [
                (
                    data.count(b"\n", 0, nul) + 1,
                    _(
                        "the file holds a NUL byte: it is not a text file (a spreadsheet saved as "
                        "UTF-16, say); save it as CSV in UTF-8"
                    ),
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MappingRefused(
            [
                (
                    data.count(b"\n", 0, error.start) + 1,
                    _("this line is not UTF-8 text; save the file as CSV in UTF-8"),
                )
            ]
        ) from error


def _header(header: list[str]) -> dict[str, int | None]:
    """Where each column is (None: an optional column left out)."""
    names = [cell.strip().lower() for cell in header]
    unknown = [name for name in names if name not in COLUMNS]
    missing = [name for name in COLUMNS if name not in names and name not in OPTIONAL_COLUMNS]
    twice = sorted({name for name in names if names.count(name) > 1})
    if unknown or missing or twice:
        parts = []
        if unknown:
            parts.append(
                _("unknown columns: %(columns)s")
                % {"columns": ", ".join(_shown(name) for name in unknown[:10])}
            )
        if missing:
            parts.append(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        if twice:
            parts.append(_("columns given twice: %(columns)s") % {"columns": ", ".join(twice)})
        raise MappingRefused(
            [
                (
                    1,
                    _(
                        "the header must be the columns %(columns)s (in any order; "
                        "%(optional)s may be left out); %(problems)s"
                    )
                    % {
                        "columns": ",".join(COLUMNS),
                        "optional": ", ".join(OPTIONAL_COLUMNS),
                        "problems": "; ".join(parts),
                    },
                )
            ]
        )
    return {name: names.index(name) if name in names else None for name in COLUMNS}


def _shown(text: str) -> str:
    """A cell as a message may quote it: printable, short."""
    cleaned = _CONTROL.sub("?", text)
    return repr(cleaned[:40] + ("…" if len(cleaned) > 40 else ""))


def _row(line: int, cells: dict[str, str]) -> tuple[MappingRow | None, list[str]]:
    problems: list[str] = []
    values = {}
    for name, raw in cells.items():
        value = raw.strip()
        if _CONTROL.search(value):
            problems.append(_("the %(column)s holds a control character") % {"column": name})
            value = ""
        values[name] = value
    action = values["action"].lower()
    if action not in ACTIONS:
        problems.append(
            _("the action %(action)s is not one of %(actions)s")
            % {"action": _shown(values["action"]), "actions": ", ".join(ACTIONS)}
        )
    codes = {}
    for name in ("old_code", "new_code", "above"):
        code = values[name].upper()
        if code and (len(code) > MAX_CODE or not CODE_PATTERN.match(code)):
            problems.append(
                _(
                    "the %(column)s %(code)s is not a code like S24-AC-403 (capital letters and "
                    "digits in parts joined by single hyphens, at most %(max)s characters)"
                )
                % {"column": name, "code": _shown(values[name]), "max": MAX_CODE}
            )
            code = ""
        codes[name] = code
    kind = None
    if values["kind"]:
        kind = KIND_WORDS.get(values["kind"].lower())
        if kind is None:
            problems.append(
                _("the kind %(kind)s is not one of %(kinds)s")
                % {"kind": _shown(values["kind"]), "kinds": ", ".join(KIND_WORDS)}
            )
    for name in ("name", "name_local"):
        if len(values[name]) > MAX_NAME:
            problems.append(
                _("the %(column)s is %(length)s characters long; at most %(max)s")
                % {"column": name, "length": len(values[name]), "max": MAX_NAME}
            )
    electors = None
    if values["electors"]:
        try:
            electors = int(values["electors"].replace(",", ""))
        except ValueError:
            electors = -1
        if not 0 <= electors <= MAX_ELECTORS:
            problems.append(
                _("electors %(value)s is not a whole number from 0 to %(max)s")
                % {"value": _shown(values["electors"]), "max": f"{MAX_ELECTORS:,}"}
            )
    designation = None
    if values["designation"]:
        designation = DESIGNATION_WORDS.get(values["designation"].lower())
        if designation is None:
            problems.append(
                _("the designation %(designation)s is not one of %(designations)s")
                % {
                    "designation": _shown(values["designation"]),
                    "designations": ", ".join(DESIGNATION_WORDS),
                }
            )
    electors_estimated = None
    if values["electors_estimated"]:
        electors_estimated = YES_NO.get(values["electors_estimated"].lower())
        if electors_estimated is None:
            problems.append(
                _("electors_estimated %(value)s is not yes or no")
                % {"value": _shown(values["electors_estimated"])}
            )
    if action == "create":
        needed = [
            ("new_code", codes["new_code"]),
            ("name", values["name"]),
            ("kind", values["kind"]),
        ]
        if kind is not None and kind != Kind.STATE:
            needed.append(("above", codes["above"]))
        for name, value in needed:
            if not value:
                problems.append(_("a create needs its %(column)s") % {"column": name})
        if codes["old_code"]:
            problems.append(_("a create has no old_code (the node does not exist yet)"))
    elif action in ("move", "retire", "merge"):
        if not codes["old_code"]:
            problems.append(
                _("a row that does %(action)s needs the old_code of its node") % {"action": action}
            )
        if action == "retire" and codes["above"]:
            problems.append(_("a retired node stays where it is: leave the above column empty"))
        if action == "merge" and not codes["above"]:
            problems.append(
                _("a merge needs its above: the node of the same kind that takes what is under it")
            )
    if problems:
        return None, problems
    return (
        MappingRow(
            line=line,
            action=action,
            old_code=codes["old_code"],
            new_code=codes["new_code"],
            above=codes["above"],
            kind=kind,
            name=values["name"],
            name_local=values["name_local"],
            electors=electors,
            designation=designation,
            electors_estimated=electors_estimated,
        ),
        [],
    )
