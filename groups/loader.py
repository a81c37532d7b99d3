"""Bulk writes to the group tree: the reference tree and real booth lists.

Both compute the nested-set columns set-wise (groups.tree) instead of inserting node by node
through mptt, and both run in one transaction: a failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from cadreconnect.exceptions import ApplicationError
from groups import reference, tree
from groups.models import TREE_ROOT_KINDS, Group, Kind
from groups.reference import NodeSpec

COLUMNS = [
    "id", "name", "name_local", "kind", "code", "parent_id", "upper_id", "whatsapp_invite_link",
    "telegram_chat_id", "electors", "is_generated", "is_active", "merged_into_id",
    "created_at", "updated_at", "tree_id", "lft", "rght", "level", "designation",
    "electors_estimated",
]  # fmt: skip


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    unchanged: int = 0
    trees_renumbered: int = 0
    seconds: float = 0.0

    @property
    def created_total(self) -> int:
        return sum(self.created.values())


class TreeLoadError(ApplicationError):
    """The reference data disagrees with the tree in the database; nothing was written."""


def reference_tree_load(
    *,
    with_booths: bool,
    state_codes: Iterable[str] | None = None,
    edition: str = reference.DEFAULT_EDITION,
) -> LoadReport:
    """Create the national node and the states' trees from an edition of the reference list
    (the 2024 one unless told).

    Safe to run again: nodes that exist (by code) are left as they are and where they are (staff
    may have renamed or moved them), missing ones are added and their trees renumbered;
    generated booths are only added to an assembly constituency that has no booths yet.
    Refuses, writing nothing, when an existing code belongs to a node of another kind, or when
    the tree was loaded from another edition (it holds an active node of a code this edition
    does not have, such as S09 under the 2024 list): loading over it would put the same ground
    in the tree twice, and a delimitation is what changes one edition into the other.
    """
    started = time.monotonic()
    report = LoadReport()
    chosen = reference.edition_get(edition)
    specs_by_state = reference.tree_specs(
        with_booths=with_booths, state_codes=state_codes, edition=chosen.year
    )
    with transaction.atomic():
        tree.lock_table_for_load(tree.TABLE)
        tree.lock_trees(tree.ROOTS_LOCK)
        foreign = sorted(
            Group.objects.filter(code__in=chosen.foreign_codes, is_active=True).values_list(
                "code", flat=True
            )
        )
        if foreign:
            raise TreeLoadError(
                f"This tree holds {', '.join(foreign)}, which the {chosen.year} list does not "
                "have: it was loaded from another edition of the list. Delimit it to the "
                f"{chosen.year} list instead (manage.py groups_delimit), or load the edition "
                "it came from (--edition)."
            )
        national = Group.objects.filter(code=reference.NATIONAL_CODE).first()
        if national is None:
            _insert_new([reference.NATIONAL], report=report)
        elif national.kind != Kind.NATIONAL or national.parent_id is not None:
            raise TreeLoadError(
                f"Code {national.code} belongs to '{national.name}', which is not the national "
                "root. Rename that code before loading the reference tree."
            )
        else:
            report.unchanged += 1
        for st_code in sorted(specs_by_state):
            specs = specs_by_state[st_code]
            if Group.objects.filter(code=st_code).exists():
                _merge_into_state(st_code, specs, report=report)
            else:
                _refuse_clashes(st_code)
                _insert_new(specs, report=report)
        tree.sync_id_sequence(tree.TABLE)
        if report.created_total:
            tree.analyze(tree.TABLE)
    report.seconds = time.monotonic() - started
    return report


def _starts_tree(spec: NodeSpec) -> bool:
    return spec.parent_code is None or spec.kind in TREE_ROOT_KINDS


def _refuse_clashes(st_code: str) -> None:
    # Every reference code of a state starts with the state's code (S24, S24-PC-80, ...).
    clashes = list(
        Group.objects.filter(Q(code=st_code) | Q(code__startswith=f"{st_code}-")).values_list(
            "code", flat=True
        )[:10]
    )
    if clashes:
        raise TreeLoadError(
            f"Codes already used elsewhere in the tree: {', '.join(clashes)}. "
            "Move or recode those nodes before loading."
        )


def _insert_new(
    specs: Sequence[NodeSpec],
    *,
    report: LoadReport,
    existing_ids: dict[str, int] | None = None,
    existing_trees: dict[str, int] | None = None,
) -> list[int]:
    """Insert nodes, parents before children.

    New trees (a node of a root kind, or one with no parent) get the next tree ids in code
    order, as mptt's rebuild() would number them, and their nested-set numbers computed here.
    Nodes added to an existing tree get placeholders; the caller renumbers that tree.
    Returns the ids of the existing nodes that got new children.
    """
    existing_ids = existing_ids or {}
    existing_trees = existing_trees or {}
    ids = tree.reserve_ids(tree.TABLE, len(specs))
    id_by_code = {**existing_ids, **{s.code: i for s, i in zip(specs, ids, strict=True)}}
    next_tree_id = (Group.objects.aggregate(highest=Max("tree_id"))["highest"] or 0) + 1
    root_code: dict[str, str] = {}
    new_roots: list[str] = []
    for spec in specs:
        if _starts_tree(spec):
            root_code[spec.code] = spec.code
            new_roots.append(spec.code)
        else:
            root_code[spec.code] = root_code.get(spec.parent_code, spec.parent_code)
    tree_id_of_root = {code: next_tree_id + index for index, code in enumerate(sorted(new_roots))}
    members: dict[str, list[NodeSpec]] = {code: [] for code in new_roots}
    grown: set[str] = set()
    for spec in specs:
        owner = root_code[spec.code]
        if owner in members:
            members[owner].append(spec)
        else:
            grown.add(owner)
    numbers: dict[int, tree.Numbered] = {}
    for code in new_roots:
        edges = [
            (id_by_code[s.code], None if s.code == code else id_by_code[s.parent_code], s.code)
            for s in members[code]
        ]
        for numbered in tree.number_tree(
            root_id=id_by_code[code], tree_id=tree_id_of_root[code], edges=edges
        ):
            numbers[numbered.id] = numbered
    now = timezone.now()

    def rows():
        for spec in specs:
            node_id = id_by_code[spec.code]
            owner = root_code[spec.code]
            numbered = numbers.get(node_id) or tree.Numbered(0, existing_trees[owner], 0, 0, 0)
            if _starts_tree(spec):
                yield _row(spec, node_id, None, id_by_code.get(spec.parent_code), numbered, now)
            else:
                yield _row(spec, node_id, id_by_code[spec.parent_code], None, numbered, now)

    tree.insert_rows(tree.TABLE, COLUMNS, rows())
    report.created.update(spec.kind for spec in specs)
    return [existing_ids[code] for code in sorted(grown)]


def _row(
    spec: NodeSpec,
    node_id: int,
    parent_id: int | None,
    upper_id: int | None,
    numbered: tree.Numbered,
    now,
) -> tuple:
    return (
        node_id, spec.name, spec.name_local, int(spec.kind), spec.code, parent_id, upper_id,
        "", None, spec.electors, spec.is_generated, True, None, now, now,
        numbered.tree_id, numbered.lft, numbered.rght, numbered.level, spec.designation,
        spec.electors_estimated,
    )  # fmt: skip


def _merge_into_state(st_code: str, specs: Sequence[NodeSpec], *, report: LoadReport) -> None:
    """Add the reference nodes a state lacks, then renumber the trees that grew."""
    existing = {
        code: (node_id, kind, tree_id, is_root, parent_code)
        for node_id, code, kind, tree_id, parent_id, parent_code in Group.objects.filter(
            Q(code=st_code) | Q(code__startswith=f"{st_code}-")
        ).values_list("id", "code", "kind", "tree_id", "parent_id", "parent__code")
        for is_root in [parent_id is None]
    }
    tree.lock_trees(*{tree_id for _, _, tree_id, _, _ in existing.values()})
    acs_with_booths = {
        parent_code for _, kind, _, _, parent_code in existing.values() if kind == Kind.BOOTH
    }
    problems = []
    new_specs = []
    for spec in specs:
        found = existing.get(spec.code)
        if found is None:
            if not (spec.is_generated and spec.parent_code in acs_with_booths):
                new_specs.append(spec)
            continue
        report.unchanged += 1
        if found[1] != spec.kind:
            problems.append(
                f"{spec.code} is a {Kind(found[1]).label} here but a {Kind(spec.kind).label} "
                "in the reference data"
            )
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise TreeLoadError(f"The tree disagrees with the reference data: {shown}{more}.")
    if not new_specs:
        return
    missing = {s.parent_code for s in new_specs} - existing.keys() - {s.code for s in new_specs}
    if missing:
        raise TreeLoadError(f"No node with code {', '.join(sorted(missing))} to add under.")
    # The tree each existing node's children go into: its own (roots are keys of themselves).
    trees = {code: found[2] for code, found in existing.items()}
    grown_under = _insert_new(
        new_specs,
        report=report,
        existing_ids={code: found[0] for code, found in existing.items()},
        existing_trees=trees,
    )
    if grown_under:
        grown_trees = Group.objects.filter(pk__in=grown_under).values("tree_id")
        roots = list(
            Group.objects.filter(parent__isnull=True, tree_id__in=grown_trees).values_list(
                "id", flat=True
            )
        )
        tree.rebuild_trees(root_ids=roots)
        report.trees_renumbered += len(roots)


# --- Real booth lists -----------------------------------------------------------------------

BOOTH_COLUMNS = ("state_code", "ac_number", "booth_number", "name")
MAX_BOOTH_NUMBER = 9999


@dataclass
class BoothImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    generated_retired: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False

    @property
    def placed(self) -> int:
        return self.created + self.updated


class BoothFileError(ApplicationError):
    """The file as a whole cannot be read as a booth list; nothing was written."""


def booths_import(*, source: io.TextIOBase, dry_run: bool = False) -> BoothImportReport:
    """Place a real booth list (CSV: state_code, ac_number, booth_number, name) in the tree.

    Each booth goes under its assembly constituency, by code: an existing booth of that number
    is renamed and marked real, a missing one is added. Generated booths of a constituency the
    file covers are deactivated (never deleted: members may point at them). Rows that cannot be
    placed are reported with their line number and skipped; the rest land together, in one
    transaction, or nothing does.
    """
    report = BoothImportReport(dry_run=dry_run)
    parsed = _parse_booth_rows(source, report)
    acs = {}
    inactive_acs = set()
    for code, node_id, tree_id, is_active in Group.objects.filter(
        kind=Kind.ASSEMBLY, code__in={row[1] for row in parsed}
    ).values_list("code", "id", "tree_id", "is_active"):
        acs[code] = (node_id, tree_id)
        if not is_active:
            inactive_acs.add(code)
    placeable = []
    for line, ac, code, name in parsed:
        if ac not in acs:
            report.problems.append((line, f"no assembly constituency {ac} in the tree"))
        elif ac in inactive_acs:
            # As group_create_child and group_reactivate refuse: no live booth under a dead AC.
            report.problems.append(
                (line, f"assembly constituency {ac} is deactivated; reactivate it first")
            )
        else:
            placeable.append((line, ac, code, name))
    if not placeable:
        return report

    with transaction.atomic():
        tree_ids = sorted({acs[ac][1] for _, ac, _, _ in placeable})
        if not dry_run:
            tree.lock_trees(*tree_ids)
        existing = {
            code: (node_id, parent_id, kind, parent_code, merged_into_code)
            for code, node_id, parent_id, kind, parent_code, merged_into_code in (
                Group.objects.filter(code__in=[row[2] for row in placeable]).values_list(
                    "code", "id", "parent_id", "kind", "parent__code", "merged_into__code"
                )
            )
        }
        new_specs = []
        renames = []
        for line, ac, code, name in placeable:
            found = existing.get(code)
            if found is None:
                new_specs.append(NodeSpec(code, name, Kind.BOOTH, ac))
                continue
            node_id, parent_id, kind, parent_code, merged_into_code = found
            if kind != Kind.BOOTH:
                report.problems.append(
                    (line, f"code {code} is taken by a node of another kind ({Kind(kind).label})")
                )
            elif parent_id != acs[ac][0]:
                report.problems.append(
                    (line, f"booth {code} is under {parent_code} here, not under {ac}")
                )
            elif merged_into_code:
                # A merge is a person's decision that two booths are one; a list does not undo it.
                report.problems.append((line, f"booth {code} was merged into {merged_into_code}"))
            else:
                renames.append((node_id, name))
        report.created = len(new_specs)
        report.updated = len(renames)
        retired = Group.objects.filter(
            parent_id__in=[acs[ac][0] for ac in {row[1] for row in placeable}],
            is_generated=True,
            is_active=True,
        ).exclude(code__in={row[2] for row in placeable})
        if dry_run:
            report.generated_retired = retired.count()
            return report
        now = timezone.now()
        Group.objects.bulk_update(
            [
                Group(pk=node_id, name=name, is_generated=False, is_active=True, updated_at=now)
                for node_id, name in renames
            ],
            ["name", "is_generated", "is_active", "updated_at"],
            batch_size=1000,
        )
        report.generated_retired = retired.update(is_active=False, updated_at=now)
        if new_specs:
            # reserve_ids reads MAX(id): keep out writers of other trees (whose tree locks we
            # do not hold) until the new ids are taken, or one of them may get the same id.
            tree.lock_table_for_load(tree.TABLE)
            ids = tree.reserve_ids(tree.TABLE, len(new_specs))
            parent_ids = {ac: node_id for ac, (node_id, _) in acs.items()}
            tree.insert_rows(
                tree.TABLE,
                COLUMNS,
                (
                    _row(
                        spec,
                        node_id,
                        parent_ids[spec.parent_code],
                        None,
                        tree.Numbered(0, acs[spec.parent_code][1], 0, 0, 0),
                        now,
                    )
                    for spec, node_id in zip(new_specs, ids, strict=True)
                ),
            )
            tree.sync_id_sequence(tree.TABLE)
            roots = Group.objects.filter(parent__isnull=True, tree_id__in=tree_ids)
            tree.rebuild_trees(root_ids=list(roots.values_list("id", flat=True)))
            tree.analyze(tree.TABLE)
        # Booths were added, renamed or retired: these trees' figures are stale, as after every
        # tree change in the services.
        from groups.services import group_figures_stale

        group_figures_stale(*tree_ids)
    return report


def _parse_booth_rows(
    source: io.TextIOBase, report: BoothImportReport
) -> list[tuple[int, str, str, str]]:
    """(line, AC code, booth code, name) of each well-formed row; problems for the others."""
    try:
        reader = csv.reader(source)
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        raise BoothFileError(f"This is not a readable CSV file: {error}") from error
    if header is None:
        raise BoothFileError("The file is empty: expected a header row " + ", ".join(BOOTH_COLUMNS))
    normalised = [column.strip().lstrip("\ufeff").lower() for column in header]
    if normalised[: len(BOOTH_COLUMNS)] != list(BOOTH_COLUMNS):
        raise BoothFileError(
            f"The first row must be the header {', '.join(BOOTH_COLUMNS)}; "
            f"found {', '.join(header[:6]) or 'nothing'}."
        )
    parsed = []
    seen: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            report.rows += 1
            if not any(value.strip() for value in values):
                report.rows -= 1
                continue
            problem, row = _parse_booth_row(values)
            if problem:
                report.problems.append((line, problem))
                continue
            if row[1] in seen:
                report.problems.append(
                    (line, f"booth {row[1]} is listed twice (first on line {seen[row[1]]})")
                )
                continue
            seen[row[1]] = line
            parsed.append((line, *row))
    except (csv.Error, UnicodeDecodeError) as error:
        raise BoothFileError(
            f"The file stops being readable CSV near line {reader.line_num}: {error}"
        ) from error
    return parsed


def _parse_booth_row(values: list[str]) -> tuple[str, tuple[str, str, str] | None]:
    if len(values) != len(BOOTH_COLUMNS):
        return f"expected {len(BOOTH_COLUMNS)} columns, found {len(values)}", None
    st, ac_text, booth_text, name = (value.strip() for value in values)
    if not st or not st.isalnum() or len(st) > 8:
        return f"state code {st!r} is not a code like S24", None
    try:
        ac_number = int(ac_text)
        booth_number = int(booth_text)
    except ValueError:
        return f"AC number {ac_text!r} and booth number {booth_text!r} must be whole numbers", None
    if not 1 <= ac_number <= 999:
        return f"AC number {ac_number} is outside 1 to 999", None
    if not 1 <= booth_number <= MAX_BOOTH_NUMBER:
        return f"booth number {booth_number} is outside 1 to {MAX_BOOTH_NUMBER}", None
    if not name:
        return "the booth name is empty", None
    if len(name) > 200:
        return f"the booth name is {len(name)} characters long; at most 200", None
    return "", (
        reference.ac_code(st, ac_number),
        reference.booth_code(st, ac_number, booth_number),
        name,
    )
