"""Applying a checked mapping: one transaction per step, each with its line in the ledger.

A run holds the delimitation claim (a PostgreSQL session advisory lock, which goes with the
connection when its process dies: a killed run leaves no claim behind), so one run at a time
writes. Each step (the changes of a state, groups.delimitation.planning) runs in one
transaction holding the advisory locks of every tree it touches, and writes its line in
`DelimitationStep` in that same transaction: a run stopped anywhere (killed, the database
gone) has applied whole steps only, and the next run with the same file finds the unfinished
delimitation by the file's digest and goes on from the first step not in the ledger. Steps are
applied in the plan's order against the tree the earlier steps left, so a resumed run ends in
the state an uninterrupted one does.

Within a step everything is set-wise SQL, whatever the number of booths and members:

1. codes: the rows' new codes, and the codes that follow them (a recursive query down the tree
   from each node whose code changes, stopping at nodes with rows of their own), gathered in a
   temporary table; every node in it first takes a placeholder code (`#` and its id, which no
   real code can be) and then its new one, so a chain within the step (S01-AC-239 becomes
   S01-AC-120, which becomes S01-AC-001) needs no order;
2. created nodes, by kind, top down (new trees get the next tree ids under the roots lock);
3. moves: a tree root (an assembly constituency) changes the node it hangs from; any other node
   its parent, within or between trees;
4. merges: what is directly under a merged node (but the nodes whose rows send them elsewhere
   or retire them) moves under the node it is merged into; the codes under it that follow its
   code and end in a letter part and a number (its booths, -B-0001) are renumbered after the
   highest number of that form the node it goes to has, in the order of the rows and then of
   the tree, keeping the number's width; other codes under it follow the nearest node above
   them that took a new code, when they begin with its old one (a merged state's booth
   S23-AC-001-B-0001 follows its AC, renumbered S05-AC-041), or else take the new node's code
   in place of the merged one's (the step fails whole, naming the code, if that is taken);
5. names, designations and the estimate mark; then retirements: each retired or merged node
   and everything under it that no row moves out is deactivated, never deleted; its booths
   are listed for placement (`BoothPlacement`) and the roles held there recorded for their
   holders' notice (`DelimitationNotice`);
6. the nested-set numbers of every tree touched are recomputed (groups.tree.rebuild_trees);
7. members follow their booths: the receivers (members.receivers) rewrite the tree and state
   columns of the members whose booths changed tree or state, one UPDATE per state;
8. the touched trees' figures are marked stale (recounted by a worker, or by the command);
   staff assignments, posts and memberships point at nodes, which keep their ids: they follow.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from cadreconnect.services import audit_record
from groups import selectors, tree
from groups.delimitation.planning import Change, Plan, mapping_plan
from groups.delimitation.reading import WORD_OF_KIND, file_digest, mapping_read
from groups.models import (
    Delimitation,
    DelimitationChange,
    DelimitationStep,
    Group,
    Kind,
)
from groups.services import group_figures_stale

# First key of the delimitation claim (a session advisory lock; second key 0).
CLAIM_NAMESPACE = 0x4752444C

# Apps that keep copies of where a booth sits (the members' tree and state) add
# receiver(tree_ids=[...], state_id=...) -> rows changed: the booths of these trees now belong
# to that state (None: to none). It runs in the step's transaction, after the renumbering.
FOLLOW_RECEIVERS: list = []
# Apps with rows at booths add counter(booths=<Group queryset>) -> {booth id: how many}
# (members waiting in the booths listed for placement, for the report and the leads' page).
COUNT_RECEIVERS: list = []
# Apps that keep copies of where any node sits (the content targets' paths) add
# receiver(tree_ids=[...]): nodes moved in, out of or within these trees, or the trees
# themselves (carrying the trees hanging below their nodes along). It runs in the step's
# transaction, after the renumbering.
RESTRUCTURE_RECEIVERS: list = []

Change_ = DelimitationChange.Action


class StepFailed(ApplicationError):
    """A step could not be applied (a code taken meanwhile, say); it was rolled back whole."""


@dataclass
class Outcome:
    """What a run or a dry run did, or would do: a report per step, in order."""

    delimitation: Delimitation | None
    steps: list[dict] = field(default_factory=list)
    already_applied: int = 0  # steps found in the ledger (a resumed run)
    resumed: bool = False
    finished_before: bool = False  # the whole mapping was applied by an earlier run
    dry_run: bool = False
    failure: str = ""


def _require_national(actor) -> None:
    """The national office applies mappings: "change the tree" at the national node."""
    if actor is None:
        return
    national = selectors.national_get()
    if national is None:
        raise ApplicationError(_("There is no national node to delimit."), code="no_tree")
    permissions.require(actor, Action.TREE_CHANGE, national)


def _claim():
    """Hold the one delimitation claim, if no other process holds it: yields whether held."""
    return tree.session_claim(CLAIM_NAMESPACE)


def _busy() -> ApplicationError:
    return ApplicationError(
        _("Another delimitation is being applied right now; try again when it has ended."),
        code="delimitation_busy",
    )


def _unfinished() -> Delimitation | None:
    return (
        Delimitation.objects.exclude(status=Delimitation.Status.DONE).order_by("created_at").first()
    )


def _refuse_other_unfinished(open_one: Delimitation) -> ApplicationError:
    return ApplicationError(
        _(
            "The delimitation of %(file)s (started %(when)s) is not finished: run it again with "
            "that file to finish it before applying another mapping."
        )
        % {"file": open_one.file_name, "when": f"{open_one.created_at:%Y-%m-%d %H:%M}"},
        code="delimitation_unfinished",
    )


def delimitation_dry_run(*, actor, data: bytes, file_name: str) -> Outcome:
    """What applying the mapping would change, step by step, worked out by applying it in a
    transaction that is then rolled back: nothing is written. For the file of an unfinished
    delimitation, what its remaining steps would change."""
    _require_national(actor)
    digest = file_digest(data)
    outcome = Outcome(delimitation=None, dry_run=True)
    with _claim() as held:
        if not held:
            raise _busy()
        open_one = _unfinished()
        plan = None
        if open_one is not None and open_one.digest == digest:
            outcome.resumed = True
        else:
            plan = mapping_plan(mapping_read(data))

        class RolledBack(Exception):
            pass

        try:
            with transaction.atomic():
                if plan is not None:
                    delimitation = _create(
                        actor=None, plan=plan, digest=digest, file_name=file_name
                    )
                else:
                    delimitation = open_one
                outcome.delimitation = delimitation
                done = set(delimitation.steps.values_list("number", flat=True))
                outcome.already_applied = len(done)
                for number in range(1, delimitation.steps_total + 1):
                    if number not in done:
                        outcome.steps.append(_apply_step(delimitation, number, actor=actor))
                raise RolledBack
        except RolledBack:
            pass
        except StepFailed as failure:
            outcome.failure = failure.message
    if plan is not None:
        outcome.delimitation = None  # it was never written
    return outcome


def delimitation_apply(
    *, actor, data: bytes, file_name: str, on_step: Callable[[dict], None] | None = None
) -> Outcome:
    """Apply the mapping, step by step; or, for the file of an unfinished delimitation, its
    remaining steps (a resumed run). A mapping applied already changes nothing again."""
    _require_national(actor)
    digest = file_digest(data)
    outcome = Outcome(delimitation=None)
    with _claim() as held:
        if not held:
            raise _busy()
        delimitation = _unfinished()
        if delimitation is not None and delimitation.digest != digest:
            raise _refuse_other_unfinished(delimitation)
        if delimitation is None:
            applied = Delimitation.objects.filter(digest=digest).first()
            if applied is not None:
                outcome.delimitation = applied
                outcome.already_applied = applied.steps_total
                outcome.finished_before = True
                return outcome
            plan = mapping_plan(mapping_read(data))
            with transaction.atomic():
                delimitation = _create(actor=actor, plan=plan, digest=digest, file_name=file_name)
        else:
            outcome.resumed = True
            with transaction.atomic():
                done = delimitation.steps.count()
                Delimitation.objects.filter(pk=delimitation.pk).update(
                    status=Delimitation.Status.RUNNING, runs=delimitation.runs + 1, error=""
                )
                audit_record(
                    actor=actor,
                    action="delimitation.resume",
                    target=delimitation,
                    data={"steps_done": done, "steps": delimitation.steps_total},
                )
        outcome.delimitation = delimitation
        done = set(delimitation.steps.values_list("number", flat=True))
        outcome.already_applied = len(done)
        pending = [n for n in range(1, delimitation.steps_total + 1) if n not in done]
        for index, number in enumerate(pending):
            try:
                with transaction.atomic():
                    report = _apply_step(delimitation, number, actor=actor)
                    DelimitationStep.objects.create(
                        delimitation=delimitation,
                        number=number,
                        states=",".join(report["states"])[:255],
                        report=report,
                    )
            except StepFailed as failure:
                _fail(delimitation, actor=actor, number=number, message=failure.message)
                raise
            except DatabaseError as error:
                # A deadlock with a person's edit, the connection cut: the step rolled back
                # whole; running the file again retries it.
                message = _(
                    "The database stopped step %(step)s (%(error)s); nothing of it was changed. "
                    "Run the mapping again to go on."
                ) % {"step": number, "error": type(error).__name__}
                try:
                    _fail(delimitation, actor=actor, number=number, message=message)
                except DatabaseError:
                    connection.close()
                raise StepFailed(message, code="step_interrupted") from error
            outcome.steps.append(report)
            if on_step is not None:
                on_step(report)
            if settings.GROUP_DELIMIT_STEP_PAUSE and index < len(pending) - 1:
                time.sleep(settings.GROUP_DELIMIT_STEP_PAUSE)
        with transaction.atomic():
            Delimitation.objects.filter(pk=delimitation.pk).update(
                status=Delimitation.Status.DONE, finished_at=timezone.now()
            )
            audit_record(
                actor=actor,
                action="delimitation.done",
                target=delimitation,
                data={"steps": delimitation.steps_total},
            )
        delimitation.refresh_from_db()
    return outcome


def _fail(delimitation: Delimitation, *, actor, number: int, message: str) -> None:
    with transaction.atomic():
        Delimitation.objects.filter(pk=delimitation.pk).update(
            status=Delimitation.Status.FAILED, error=message[:2000]
        )
        audit_record(
            actor=actor,
            action="delimitation.fail",
            target=delimitation,
            data={"step": number, "error": message[:500]},
        )


def _create(*, actor, plan: Plan, digest: str, file_name: str) -> Delimitation:
    """The delimitation and its checked rows, in the caller's transaction."""
    delimitation = Delimitation.objects.create(
        file_name=file_name[:255], digest=digest, created_by=actor, steps_total=len(plan.steps)
    )
    DelimitationChange.objects.bulk_create(
        (_change_row(delimitation, change) for change in plan.changes), batch_size=5000
    )
    audit_record(
        actor=actor,
        action="delimitation.start",
        target=delimitation,
        data={"rows": len(plan.changes), "steps": [list(step) for step in plan.steps]},
    )
    return delimitation


def _change_row(delimitation: Delimitation, change: Change) -> DelimitationChange:
    row = change.row
    return DelimitationChange(
        delimitation=delimitation,
        line=row.line,
        step=change.step,
        state_code=change.state_code,
        action=row.action,
        node_id=change.node.id if change.node else None,
        kind=change.kind,
        old_code=change.node.code if change.node else "",
        new_code=change.new_code,
        above_id=change.above_id,
        above_line=change.above_line,
        name=row.name,
        name_local=row.name_local,
        electors=row.electors,
        designation=row.designation,
        electors_estimated=row.electors_estimated,
    )


# --- One step ------------------------------------------------------------------------------

_KEY_TAKEN = re.compile(r"\(code\)=\(([^)]*)\)")


def _apply_step(delimitation: Delimitation, number: int, *, actor) -> dict:
    return _Step(delimitation, number, actor=actor).apply()


class _Step:
    def __init__(self, delimitation: Delimitation, number: int, *, actor) -> None:
        self.delimitation = delimitation
        self.number = number
        self.actor = actor
        self.changes = list(delimitation.changes.filter(step=number).order_by("line"))
        self.state_of_line = {change.line: change.state_code for change in self.changes}
        states = sorted({change.state_code for change in self.changes})
        self.reports = {code: _blank_report(code) for code in states}
        self.now = timezone.now()
        self.params = {
            "delimitation": delimitation.pk,
            "step": number,
            "booth": int(Kind.BOOTH),
            "create": Change_.CREATE.value,
            "retire": Change_.RETIRE.value,
            "merge": Change_.MERGE.value,
            "move": Change_.MOVE.value,
            "now": self.now,
        }
        # Trees whose numbers are recomputed, whose members may change state, whose figures
        # are stale.
        self.renumber: set[int] = set()  # codes changed: renumbered if siblings are out of order
        self.restructured: set[int] = set()  # nodes moved in, out or created: renumbered
        self.follow: set[int] = set()
        self.stale: set[int] = set()
        # Nodes of a state's tree moved to another parent (they carry lower trees along).
        self.moved_upper: list[int] = []
        # Line of each create -> the node made (by this step or an earlier one).
        self.created: dict[int, int] = dict(
            delimitation.changes.filter(action=Change_.CREATE, node__isnull=False).values_list(
                "line", "node_id"
            )
        )

    def report(self, line: int) -> dict:
        return self.reports[self.state_of_line[line]]

    def apply(self) -> dict:
        self._lock()
        with connection.cursor() as cursor:
            self.cursor = cursor
            for table in TEMPORARY_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                "CREATE TEMPORARY TABLE delimit_codes (id bigint PRIMARY KEY,"
                " code varchar(64) NOT NULL, line integer NOT NULL, follows integer NOT NULL)"
            )
            cursor.execute(
                "CREATE TEMPORARY TABLE delimit_retired (id bigint PRIMARY KEY,"
                " line integer NOT NULL)"
            )
            self._gather_codes()
            cursor.execute(
                "UPDATE groups_group SET code = '#' || CAST(id AS varchar(20))"
                " WHERE id IN (SELECT id FROM delimit_codes)"
            )
            self._create()
            self._set_codes()
            self._move()
            self._merge()
            self._rename()
            self._retire()
            self._renumber()
            self._follow()
            for table in TEMPORARY_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        group_figures_stale(*self.stale)
        self._audit()
        return {
            "step": self.number,
            "states": sorted(self.reports),
            "by_state": [self.reports[code] for code in sorted(self.reports)],
        }

    # --- Locks ----------------------------------------------------------------------------

    def _trees_touched(self) -> set[int]:
        # Subqueries, not lists of ids: a booth-level order has a row per booth.
        step = self.delimitation.changes.filter(step=self.number)
        touched = Group.objects.filter(
            Q(pk__in=step.filter(node__isnull=False).values("node_id"))
            | Q(pk__in=step.filter(above__isnull=False).values("above_id"))
            | Q(pk__in=[self.created[c.above_line] for c in self.changes
                        if c.above_line in self.created])
        )  # fmt: skip
        trees = set(touched.values_list("tree_id", flat=True).distinct())
        trees |= set(
            touched.filter(upper__isnull=False).values_list("upper__tree_id", flat=True).distinct()
        )
        nodes = list(
            touched.filter(kind__gte=Kind.STATE, kind__lt=Kind.ASSEMBLY).values_list(
                "kind", "tree_id", "lft", "rght", "upper__tree_id"
            )
        )
        # Nodes of a state's tree carry the trees hanging below them (codes follow, retirements
        # reach down).
        upper_nodes = [(kind, t, lft, rght) for kind, t, lft, rght, _ in nodes]
        if upper_nodes:
            trees |= set(selectors.scope_of(upper_nodes).tree_ids)
        return trees

    def _lock(self) -> None:
        """The roots lock (new trees get ids) and every tree this step writes, taken before
        anything is read for writing; then read again, as nodes may have moved meanwhile."""
        locked: set[int] = set()
        for _attempt in range(5):
            wanted = self._trees_touched()
            if wanted <= locked:
                return
            tree.lock_trees(tree.ROOTS_LOCK, *(wanted - locked))
            locked |= wanted
        raise StepFailed(
            _("The tree is changing too fast to delimit; try again."), code="tree_busy"
        )

    # --- Codes ----------------------------------------------------------------------------

    def _gather_codes(self) -> None:
        cursor = self.cursor
        cursor.execute(
            """INSERT INTO delimit_codes (id, code, line, follows)
               SELECT node_id, new_code, line, 0 FROM groups_delimitationchange
               WHERE delimitation_id = %(delimitation)s AND step = %(step)s
                 AND action <> %(create)s AND new_code <> old_code""",
            self.params,
        )
        # Down from every node whose code changes, to the nodes without rows of their own;
        # those whose code begins with the changing code and a hyphen follow it (not those of
        # a merged node: they are renumbered where they go, `_merge`).
        cursor.execute(
            """WITH RECURSIVE follow(id, old_prefix, new_prefix, line) AS (
                   SELECT child.id, seed.old_code || '-', seed.new_code || '-', seed.line
                   FROM groups_delimitationchange seed
                   JOIN groups_group child
                     ON child.parent_id = seed.node_id OR child.upper_id = seed.node_id
                   WHERE seed.delimitation_id = %(delimitation)s AND seed.step = %(step)s
                     AND seed.action NOT IN (%(create)s, %(merge)s)
                     AND seed.new_code <> seed.old_code
                     AND NOT EXISTS (SELECT 1 FROM groups_delimitationchange other
                         WHERE other.delimitation_id = %(delimitation)s
                           AND other.node_id = child.id)
                   UNION ALL
                   SELECT child.id, follow.old_prefix, follow.new_prefix, follow.line
                   FROM follow JOIN groups_group child
                     ON child.parent_id = follow.id OR child.upper_id = follow.id
                   WHERE NOT EXISTS (SELECT 1 FROM groups_delimitationchange other
                         WHERE other.delimitation_id = %(delimitation)s
                           AND other.node_id = child.id)
               )
               INSERT INTO delimit_codes (id, code, line, follows)
               SELECT node.id,
                   follow.new_prefix || substr(node.code, length(follow.old_prefix) + 1),
                   follow.line, 1
               FROM follow JOIN groups_group node ON node.id = follow.id
               WHERE substr(node.code, 1, length(follow.old_prefix)) = follow.old_prefix""",
            self.params,
        )
        cursor.execute(
            """SELECT codes.line, node.kind, node.code, codes.code, codes.follows, node.tree_id
               FROM delimit_codes codes JOIN groups_group node ON node.id = codes.id
               WHERE node.kind <> %(booth)s OR codes.follows = 0
               ORDER BY node.kind, node.code""",
            self.params,
        )
        for line, _kind, old, new, _follows, tree_id in cursor.fetchall():
            report = self.report(line)
            report["recoded"] += 1
            report["codes"].append([old, new])
            self.renumber.add(tree_id)
        cursor.execute(
            """SELECT codes.line, COUNT(*), MIN(node.tree_id) FROM delimit_codes codes
               JOIN groups_group node ON node.id = codes.id
               WHERE node.kind = %(booth)s AND codes.follows = 1 GROUP BY codes.line""",
            self.params,
        )
        seeds = {change.line: change for change in self.changes}
        for line, count, _tree in cursor.fetchall():
            seed = seeds[line]
            report = self.report(line)
            report["booths_recoded"] += count
            report["booth_codes"].append([f"{seed.old_code}-…", f"{seed.new_code}-…", count])
        cursor.execute(
            "SELECT DISTINCT node.tree_id FROM delimit_codes codes"
            " JOIN groups_group node ON node.id = codes.id"
        )
        self.renumber |= {tree_id for (tree_id,) in cursor.fetchall()}

    def _set_codes(self) -> None:
        try:
            with transaction.atomic():
                self.cursor.execute(
                    "UPDATE groups_group SET code = delimit_codes.code, updated_at = %(now)s"
                    " FROM delimit_codes WHERE groups_group.id = delimit_codes.id",
                    self.params,
                )
        except IntegrityError as error:
            raise _taken(error) from error

    # --- Created nodes --------------------------------------------------------------------

    def _create(self) -> None:
        creates = [c for c in self.changes if c.action == Change_.CREATE]
        if not creates:
            return
        created = self.created
        next_tree_id = (Group.objects.aggregate(highest=Max("tree_id"))["highest"] or 0) + 1
        by_kind: dict[int, list[DelimitationChange]] = defaultdict(list)
        for change in creates:
            by_kind[change.kind].append(change)
        for kind in sorted(by_kind):
            batch = by_kind[kind]
            above_ids = {c.above_id or created[c.above_line] for c in batch}
            aboves = {g.pk: g for g in Group.objects.filter(pk__in=above_ids)}
            nodes = []
            for change in batch:
                above = aboves[change.above_id or created[change.above_line]]
                node = Group(
                    name=change.name,
                    name_local=change.name_local,
                    kind=kind,
                    code=change.new_code,
                    electors=change.electors,
                    designation=change.designation or "",
                    electors_estimated=bool(change.electors_estimated),
                    created_at=self.now,
                    updated_at=self.now,
                )
                if kind in (Kind.STATE, Kind.ASSEMBLY):
                    node.parent = None
                    node.upper = above if kind == Kind.ASSEMBLY else None
                    node.tree_id, node.lft, node.rght, node.level = next_tree_id, 1, 2, 0
                    next_tree_id += 1
                    if node.upper is not None:
                        self.stale.add(above.tree_id)
                else:
                    # Numbered when its tree is renumbered, below.
                    node.parent = above
                    node.tree_id, node.lft, node.rght, node.level = above.tree_id, 0, 0, 0
                    self.restructured.add(above.tree_id)
                nodes.append(node)
            try:
                with transaction.atomic():
                    Group.objects.bulk_create(nodes)
            except IntegrityError as error:
                raise _taken(error) from error
            for change, node in zip(batch, nodes, strict=True):
                change.node_id = node.pk
                created[change.line] = node.pk
                self.stale.add(node.tree_id)
                self.report(change.line)["created"][WORD_OF_KIND[kind]] = (
                    self.report(change.line)["created"].get(WORD_OF_KIND[kind], 0) + 1
                )
            DelimitationChange.objects.bulk_update(batch, ["node"])

    # --- Moves ----------------------------------------------------------------------------

    def _move(self) -> None:
        moving = [
            c for c in self.changes if c.action == Change_.MOVE and (c.above_id or c.above_line)
        ]
        if not moving:
            return
        created = self.created
        target_of = {c.node_id: c.above_id or created[c.above_line] for c in moving}
        step = self.delimitation.changes.filter(step=self.number, action=Change_.MOVE)
        nodes = {g.pk: g for g in Group.objects.filter(pk__in=step.values("node_id"))}
        aboves = {g.pk: g for g in Group.objects.filter(pk__in=set(target_of.values()))}
        uppers = {
            g.pk: g.tree_id
            for g in Group.objects.filter(pk__in={g.upper_id for g in nodes.values() if g.upper_id})
        }
        changed = []
        for change in moving:
            node = nodes[change.node_id]
            above = aboves[target_of[node.pk]]
            if node.kind == Kind.STATE or node.above_id == above.pk:
                continue
            self.stale |= {node.tree_id, above.tree_id}
            if node.parent_id is None:
                # The root of a tree hanging below another: only what it hangs from changes.
                if node.upper_id in uppers:
                    self.stale.add(uppers[node.upper_id])
                node.upper_id = above.pk
                self.follow.add(node.tree_id)
            else:
                node.parent_id = above.pk
                self.restructured |= {node.tree_id, above.tree_id}
                if node.kind < Kind.ASSEMBLY:
                    self.moved_upper.append(node.pk)
                else:
                    self.follow |= {node.tree_id, above.tree_id}
            node.updated_at = self.now
            changed.append(node)
            self.report(change.line)["moved"] += 1
        Group.objects.bulk_update(changed, ["parent", "upper", "updated_at"], batch_size=1000)

    # --- Merges ---------------------------------------------------------------------------

    def _merge(self) -> None:
        if not any(c.action == Change_.MERGE for c in self.changes):
            return
        cursor = self.cursor
        cursor.execute(
            "CREATE TEMPORARY TABLE delimit_moved (id bigint PRIMARY KEY, line integer NOT NULL,"
            " target_id bigint NOT NULL, old_code varchar(64) NOT NULL)"
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE delimit_under (id bigint PRIMARY KEY, line integer NOT NULL,"
            " target_id bigint NOT NULL, target_code varchar(64) NOT NULL, above_id bigint,"
            " old_code varchar(64) NOT NULL, rest varchar(64), number varchar(64),"
            " code varchar(64))"
        )
        cursor.execute("CREATE INDEX delimit_under_above ON delimit_under (above_id)")
        cursor.execute(
            "CREATE TEMPORARY TABLE delimit_highest (target_id bigint NOT NULL,"
            " label varchar(64) NOT NULL, number bigint NOT NULL)"
        )
        # What goes: the nodes directly under each merged node but those whose rows send them
        # elsewhere (an above of their own), retire or merge them. The node merged into is one
        # that exists, or the one another row created (in this step or an earlier one).
        cursor.execute(
            """INSERT INTO delimit_moved (id, line, target_id, old_code)
               SELECT child.id, merger.line, COALESCE(merger.above_id, made.node_id),
                   merger.old_code
               FROM groups_delimitationchange merger
               LEFT JOIN groups_delimitationchange made
                 ON made.delimitation_id = merger.delimitation_id
                AND made.line = merger.above_line
               JOIN groups_group child
                 ON child.parent_id = merger.node_id OR child.upper_id = merger.node_id
               WHERE merger.delimitation_id = %(delimitation)s AND merger.step = %(step)s
                 AND merger.action = %(merge)s
                 AND NOT EXISTS (SELECT 1 FROM groups_delimitationchange own
                     WHERE own.delimitation_id = %(delimitation)s AND own.node_id = child.id
                       AND (own.action <> %(move)s OR own.above_id IS NOT NULL
                            OR own.above_line IS NOT NULL))""",
            self.params,
        )
        # Their codes, and those of everything under them without a row of its own, follow
        # the merged node's when they begin with it and a hyphen: `rest` is what comes after,
        # `number` the number of a code of the form <letters>-<digits> (a booth's B-0001).
        cursor.execute(
            """WITH RECURSIVE walk(id, above_id, line, target_id, old_prefix) AS (
                   SELECT moved.id, CAST(NULL AS bigint), moved.line, moved.target_id,
                       moved.old_code || '-'
                   FROM delimit_moved moved
                   WHERE NOT EXISTS (SELECT 1 FROM groups_delimitationchange own
                         WHERE own.delimitation_id = %(delimitation)s AND own.node_id = moved.id)
                   UNION ALL
                   SELECT child.id, walk.id, walk.line, walk.target_id, walk.old_prefix
                   FROM walk JOIN groups_group child
                     ON child.parent_id = walk.id OR child.upper_id = walk.id
                   WHERE NOT EXISTS (SELECT 1 FROM groups_delimitationchange own
                         WHERE own.delimitation_id = %(delimitation)s AND own.node_id = child.id)
               )
               INSERT INTO delimit_under (id, above_id, line, target_id, target_code, old_code,
                   rest)
               SELECT walk.id, walk.above_id, walk.line, walk.target_id, target.code, node.code,
                   CASE WHEN substr(node.code, 1, length(walk.old_prefix)) = walk.old_prefix
                        THEN substr(node.code, length(walk.old_prefix) + 1) END
               FROM walk JOIN groups_group node ON node.id = walk.id
               JOIN groups_group target ON target.id = walk.target_id""",
            self.params,
        )
        cursor.execute(
            "UPDATE delimit_under SET number = split_part(rest, '-', 2)"
            " WHERE rest ~ '^[A-Z]+-[0-9]{1,18}$'"
        )
        # Numbered on after the highest number of that form the node merged into has, in any
        # state (codes are in byte order, "C": the LIKE reads the code index).
        cursor.execute(
            """SELECT DISTINCT under.target_id, target.code, split_part(under.rest, '-', 1)
               FROM delimit_under under JOIN groups_group target ON target.id = under.target_id
               WHERE under.number IS NOT NULL"""
        )
        highest = []
        for target_id, target_code, label in cursor.fetchall():
            prefix = f"{target_code}-{label}-"
            cursor.execute(
                "SELECT COALESCE(MAX(CAST(substr(code, %s) AS bigint)), 0) FROM groups_group"
                " WHERE code LIKE %s AND substr(code, %s) ~ '^[0-9]{1,18}$'",
                [len(prefix) + 1, prefix + "%", len(prefix) + 1],
            )
            highest.append((target_id, label, cursor.fetchone()[0]))
        cursor.executemany("INSERT INTO delimit_highest VALUES (%s, %s, %s)", highest)
        cursor.execute(
            """WITH ranked AS (
                   SELECT under.id, under.target_id, split_part(under.rest, '-', 1) AS label,
                       length(under.number) AS width,
                       ROW_NUMBER() OVER (
                           PARTITION BY under.target_id, split_part(under.rest, '-', 1)
                           ORDER BY under.line, node.tree_id, node.lft) AS rank
                   FROM delimit_under under JOIN groups_group node ON node.id = under.id
                   WHERE under.number IS NOT NULL
               ), numbered AS (
                   SELECT ranked.id, target.code || '-' || ranked.label || '-' AS prefix,
                       ranked.width, CAST(highest.number + ranked.rank AS varchar) AS value
                   FROM ranked JOIN groups_group target ON target.id = ranked.target_id
                   JOIN delimit_highest highest
                     ON highest.target_id = ranked.target_id AND highest.label = ranked.label
               )
               UPDATE delimit_under SET code = numbered.prefix
                   || lpad(numbered.value, GREATEST(numbered.width, length(numbered.value)), '0')
               FROM numbered WHERE delimit_under.id = numbered.id"""
        )
        # Codes of another form follow the nearest node above them that has a new code, when
        # they begin with its old one (a booth S23-AC-001-B-0001 of a merged state follows
        # its renumbered AC), or else take the merged-into node's code in place of the
        # merged one's.
        cursor.execute(
            """WITH RECURSIVE down(id, code, anchor_old, anchor_new) AS (
                   SELECT under.id, new.code,
                       CASE WHEN new.code IS NOT NULL THEN under.old_code END, new.code
                   FROM delimit_under under
                   CROSS JOIN LATERAL (SELECT COALESCE(under.code,
                       under.target_code || '-' || under.rest) AS code) new
                   WHERE under.above_id IS NULL
                   UNION ALL
                   SELECT under.id, new.code,
                       CASE WHEN new.code IS NOT NULL THEN under.old_code
                            ELSE down.anchor_old END,
                       COALESCE(new.code, down.anchor_new)
                   FROM down JOIN delimit_under under ON under.above_id = down.id
                   CROSS JOIN LATERAL (SELECT COALESCE(under.code,
                       CASE WHEN substr(under.old_code, 1, length(down.anchor_old) + 1)
                                 = down.anchor_old || '-'
                            THEN down.anchor_new
                                 || substr(under.old_code, length(down.anchor_old) + 1) END,
                       under.target_code || '-' || under.rest) AS code) new
               )
               UPDATE delimit_under SET code = down.code FROM down
               WHERE delimit_under.id = down.id AND delimit_under.code IS NULL"""
        )
        self._merge_report()
        # Where the nodes' trees stand, before they move: what is renumbered, what members
        # follow, whose figures are stale.
        cursor.execute(
            """SELECT node.kind < %(assembly)s, node.parent_id IS NULL, node.tree_id,
                   target.tree_id, array_agg(node.id)
               FROM delimit_moved moved JOIN groups_group node ON node.id = moved.id
               JOIN groups_group target ON target.id = moved.target_id
               GROUP BY 1, 2, 3, 4""",
            {"assembly": int(Kind.ASSEMBLY)},
        )
        for upper_kind, is_root, tree_id, target_tree, node_ids in cursor.fetchall():
            self.stale |= {tree_id, target_tree}
            if is_root:
                # Trees hanging below the merged node now hang below the other.
                self.follow.add(tree_id)
            else:
                self.restructured |= {tree_id, target_tree}
                if upper_kind:
                    self.moved_upper.extend(node_ids)
                else:
                    self.follow |= {tree_id, target_tree}
        try:
            with transaction.atomic():
                cursor.execute(
                    "UPDATE groups_group SET code = under.code, updated_at = %(now)s"
                    " FROM delimit_under under"
                    " WHERE groups_group.id = under.id AND under.code IS NOT NULL",
                    self.params,
                )
        except IntegrityError as error:
            raise _taken(error) from error
        cursor.execute(
            """UPDATE groups_group node SET
                   parent_id = CASE WHEN node.parent_id IS NULL THEN NULL ELSE moved.target_id END,
                   upper_id = CASE WHEN node.parent_id IS NULL THEN moved.target_id
                                   ELSE node.upper_id END,
                   updated_at = %(now)s
               FROM delimit_moved moved WHERE node.id = moved.id""",
            self.params,
        )

    def _merge_report(self) -> None:
        """Per merge row: the node it merges, where to, how many booths go along; the new
        codes of the other nodes that go."""
        cursor = self.cursor
        cursor.execute(
            """SELECT merger.line, merger.old_code, target.code,
                   (SELECT COUNT(*) FROM delimit_under under JOIN groups_group booth
                      ON booth.id = under.id
                    WHERE under.line = merger.line AND booth.kind = %(booth)s)
               FROM groups_delimitationchange merger
               LEFT JOIN groups_delimitationchange made
                 ON made.delimitation_id = merger.delimitation_id
                AND made.line = merger.above_line
               JOIN groups_group target ON target.id = COALESCE(merger.above_id, made.node_id)
               WHERE merger.delimitation_id = %(delimitation)s AND merger.step = %(step)s
                 AND merger.action = %(merge)s
               ORDER BY merger.line""",
            self.params,
        )
        for line, old_code, target_code, booths in cursor.fetchall():
            report = self.report(line)
            report["merged"] += 1
            report["merges"].append([old_code, target_code, booths])
        cursor.execute(
            """SELECT under.line, node.code, under.code FROM delimit_under under
               JOIN groups_group node ON node.id = under.id
               WHERE node.kind <> %(booth)s AND under.code IS NOT NULL
               ORDER BY node.kind, node.code""",
            self.params,
        )
        for line, old, new in cursor.fetchall():
            report = self.report(line)
            report["recoded"] += 1
            report["codes"].append([old, new])

    # --- Names and retirements ------------------------------------------------------------

    def _rename(self) -> None:
        renamed = [
            c
            for c in self.changes
            if c.action != Change_.CREATE
            and (
                c.name
                or c.name_local
                or c.electors is not None
                or c.designation is not None
                or c.electors_estimated is not None
            )
        ]
        if not renamed:
            return
        fields = ["name", "name_local", "electors", "designation", "electors_estimated"]
        step = self.delimitation.changes.filter(step=self.number).exclude(action=Change_.CREATE)
        nodes = {g.pk: g for g in Group.objects.filter(pk__in=step.values("node_id"))}
        for change in renamed:
            node = nodes[change.node_id]
            before = [getattr(node, name) for name in fields]
            node.name = change.name or node.name
            node.name_local = change.name_local or node.name_local
            for name in ("electors", "designation", "electors_estimated"):
                if getattr(change, name) is not None:
                    setattr(node, name, getattr(change, name))
            node.updated_at = self.now
            if [getattr(node, name) for name in fields] != before:
                self.report(change.line)["renamed"] += 1
        Group.objects.bulk_update(nodes.values(), [*fields, "updated_at"], batch_size=1000)

    def _retire(self) -> None:
        if not any(c.action in (Change_.RETIRE, Change_.MERGE) for c in self.changes):
            return
        cursor = self.cursor
        # A merged node is retired like any other; what was under it has gone already.
        cursor.execute(
            """WITH RECURSIVE retired(id, line) AS (
                   SELECT node_id, line FROM groups_delimitationchange
                   WHERE delimitation_id = %(delimitation)s AND step = %(step)s
                     AND action IN (%(retire)s, %(merge)s)
                   UNION ALL
                   SELECT child.id, retired.line FROM retired JOIN groups_group child
                     ON child.parent_id = retired.id OR child.upper_id = retired.id
                   WHERE NOT EXISTS (SELECT 1 FROM groups_delimitationchange other
                         WHERE other.delimitation_id = %(delimitation)s
                           AND other.node_id = child.id)
               )
               INSERT INTO delimit_retired (id, line) SELECT id, line FROM retired""",
            self.params,
        )
        cursor.execute(
            """SELECT retired.line, node.kind, COUNT(*) FROM delimit_retired retired
               JOIN groups_group node ON node.id = retired.id
               WHERE node.is_active GROUP BY retired.line, node.kind""",
        )
        for line, kind, count in cursor.fetchall():
            retired = self.report(line)["retired"]
            retired[WORD_OF_KIND[kind]] = retired.get(WORD_OF_KIND[kind], 0) + count
        cursor.execute(
            "SELECT DISTINCT node.tree_id FROM delimit_retired retired"
            " JOIN groups_group node ON node.id = retired.id"
        )
        self.stale |= {tree_id for (tree_id,) in cursor.fetchall()}
        cursor.execute(
            "UPDATE groups_group SET is_active = %(no)s, updated_at = %(now)s"
            " WHERE id IN (SELECT id FROM delimit_retired) AND is_active",
            {**self.params, "no": False},
        )
        # Every booth left under a retired node waits for a lead (one not merged away, whose
        # members went with its survivor), unless it waits already.
        cursor.execute(
            """INSERT INTO groups_boothplacement (delimitation_id, booth_id, retired_from,
                   created_at, placed_code)
               SELECT %(delimitation)s, booth.id, root.code, %(now)s, ''
               FROM delimit_retired retired JOIN groups_group booth ON booth.id = retired.id
               JOIN groups_group root ON root.tree_id = booth.tree_id AND root.parent_id IS NULL
               WHERE booth.kind = %(booth)s AND booth.merged_into_id IS NULL
                 AND NOT EXISTS (SELECT 1 FROM groups_boothplacement waiting
                     WHERE waiting.booth_id = booth.id AND waiting.placed_at IS NULL)""",
            self.params,
        )
        cursor.execute(
            """SELECT retired.line, COUNT(*) FROM delimit_retired retired
               JOIN groups_boothplacement placement ON placement.booth_id = retired.id
               WHERE placement.delimitation_id = %(delimitation)s GROUP BY retired.line""",
            self.params,
        )
        lines_of_state: dict[str, list[int]] = defaultdict(list)
        for line, count in cursor.fetchall():
            self.report(line)["booths_to_place"] += count
            lines_of_state[self.state_of_line[line]].append(line)
        for state_code, lines in lines_of_state.items():
            placeholders = ", ".join(["%s"] * len(lines))
            # The placeholders are "%s" only; the lines go in as parameters.
            in_lines = f"SELECT id FROM delimit_retired WHERE line IN ({placeholders})"  # noqa: S608
            booths = Group.objects.filter(pk__in=RawSQL(in_lines, lines), kind=Kind.BOOTH)  # noqa: S611
            for counter in COUNT_RECEIVERS:
                self.reports[state_code]["members_to_place"] += sum(counter(booths=booths).values())
        # The holders of roles there are told at their next sign-in; the roles stay, and with
        # them read access to what was theirs, until a lead reassigns them.
        cursor.execute(
            """INSERT INTO groups_delimitationnotice (delimitation_id, assignment_id, group_code,
                   created_at)
               SELECT %(delimitation)s, assignment.id, node.code, %(now)s
               FROM groups_assignment assignment JOIN groups_group node
                 ON node.id = assignment.group_id
               WHERE assignment.group_id IN (SELECT id FROM delimit_retired)""",
            self.params,
        )

    # --- Numbers, members, audit ----------------------------------------------------------

    def _renumber(self) -> None:
        """Renumber the trees whose nodes moved or were created, and those where a new code
        put siblings out of code order (a booth following its constituency's new code keeps
        its place among its siblings: most renumbered trees need nothing)."""
        reordered = self._out_of_order(self.renumber - self.restructured)
        wanted = self.restructured | reordered
        if wanted:
            roots = Group.objects.filter(parent__isnull=True, tree_id__in=wanted)
            tree.rebuild_trees(root_ids=list(roots.values_list("id", flat=True)))
        self.stale |= self.renumber | self.restructured
        # Nodes of a state's tree that moved carry the trees hanging below them along.
        moved = list(
            Group.objects.filter(pk__in=self.moved_upper).values_list(
                "kind", "tree_id", "lft", "rght"
            )
        )
        if moved:
            self.follow |= {tree_id for _, tree_id, _, _ in moved}
            self.follow |= set(selectors.scope_of(moved).tree_ids)
        # Trees whose nodes moved, and trees that moved whole (a root hanging elsewhere).
        changed = self.restructured | self.follow
        if changed:
            for receiver in RESTRUCTURE_RECEIVERS:
                receiver(tree_ids=sorted(changed))

    def _out_of_order(self, tree_ids: set[int]) -> set[int]:
        found: set[int] = set()
        ordered = sorted(tree_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            placeholders = ", ".join(["%s"] * len(chunk))
            # The placeholders are "%s" only; the tree ids go in as parameters.
            self.cursor.execute(
                f"""SELECT DISTINCT tree_id FROM (
                        SELECT tree_id, code,
                            LAG(code) OVER (PARTITION BY parent_id ORDER BY lft) AS previous
                        FROM groups_group
                        WHERE tree_id IN ({placeholders}) AND parent_id IS NOT NULL
                    ) siblings WHERE previous >= code""",  # noqa: S608
                chunk,
            )
            found |= {tree_id for (tree_id,) in self.cursor.fetchall()}
        return found

    def _follow(self) -> None:
        self.stale |= self.follow
        if not self.follow or not FOLLOW_RECEIVERS:
            return
        state_of_tree = states_of_trees(self.follow)
        codes = dict(
            Group.objects.filter(pk__in={s for s in state_of_tree.values() if s}).values_list(
                "pk", "code"
            )
        )
        trees_of_state: dict[int | None, list[int]] = defaultdict(list)
        for tree_id, state_id in state_of_tree.items():
            trees_of_state[state_id].append(tree_id)
        for state_id, tree_ids in sorted(trees_of_state.items(), key=lambda item: item[0] or 0):
            moved = sum(
                receiver(tree_ids=sorted(tree_ids), state_id=state_id)
                for receiver in FOLLOW_RECEIVERS
            )
            code = codes.get(state_id, "")
            if moved:
                report = self.reports.get(code) or self.reports.setdefault(
                    code, _blank_report(code)
                )
                report["members_moved"] += moved

    def _audit(self) -> None:
        states = {g.code: g for g in Group.objects.filter(code__in=list(self.reports))}
        for code, report in sorted(self.reports.items()):
            node = states.get(code)
            report["name"] = node.name if node is not None else ""
            audit_record(
                actor=self.actor,
                action="delimitation.apply",
                target=node or self.delimitation,
                data={
                    "delimitation": self.delimitation.pk,
                    "step": self.number,
                    "state": code,
                    **{key: report[key] for key in COUNT_KEYS},
                },
            )


TEMPORARY_TABLES = (
    "delimit_codes", "delimit_retired", "delimit_moved", "delimit_under", "delimit_highest",
)  # fmt: skip
COUNT_KEYS = (
    "created",
    "moved",
    "merged",
    "recoded",
    "booths_recoded",
    "renamed",
    "retired",
    "booths_to_place",
    "members_moved",
    "members_to_place",
)


def _blank_report(code: str) -> dict:
    return {
        "code": code,
        "name": "",
        "created": {},
        "moved": 0,
        "merged": 0,
        "recoded": 0,
        "booths_recoded": 0,
        "renamed": 0,
        "retired": {},
        "booths_to_place": 0,
        "members_moved": 0,
        "members_to_place": 0,
        "codes": [],
        "booth_codes": [],
        "merges": [],
    }


def _taken(error: IntegrityError) -> StepFailed:
    found = _KEY_TAKEN.search(str(error))
    code = found.group(1) if found else "?"
    return StepFailed(
        _(
            "The code %(code)s is in use by a node that no row of the mapping moves away (it "
            "may have been added since the mapping was checked); nothing of this step was "
            "changed."
        )
        % {"code": code},
        code="code_taken",
    )


def states_of_trees(tree_ids) -> dict[int, int | None]:
    """The state (the root of the top tree) each of these trees belongs to, as
    members.services works it out for a booth: a tree hanging below another belongs to that
    tree's root, a top tree to its own."""
    roots = list(
        Group.objects.filter(parent__isnull=True, tree_id__in=tree_ids).values_list(
            "tree_id", "pk", "kind", "upper__tree_id"
        )
    )
    upper_trees = {upper_tree for *_, upper_tree in roots if upper_tree}
    tops = dict(
        Group.objects.filter(parent__isnull=True, tree_id__in=upper_trees).values_list(
            "tree_id", "pk"
        )
    )
    result: dict[int, int | None] = {}
    for tree_id, root_id, kind, upper_tree in roots:
        if upper_tree:
            result[tree_id] = tops.get(upper_tree)
        else:
            result[tree_id] = None if kind == Kind.NATIONAL else root_id
    return result
