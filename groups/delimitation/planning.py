"""Checking a mapping against the tree, and cutting it into steps.

Everything here reads; nothing writes. The tree's nodes other than booths (about 5,000 on the
full tree: states, Lok Sabha and assembly constituencies, districts, mandals) are read whole;
booths only when a row names them, or holds a code a row wants.

A node without a row goes where the node above it goes. Its code follows the nearest node
above it that has a row, when it begins with that node's old code and a hyphen (the booth
S01-AC-120-B-0001 under S01-AC-120 becomes S01-AC-001-B-0001 when S01-AC-120 becomes
S01-AC-001); otherwise it stays. A node directly under a merged node goes where the merge
sends what is under it (its codes are renumbered when the step is applied: see applying).

The plan's steps: each row belongs to the state it ends in. A state whose rows take a code
that another state's rows give up, or hang under a node another state's rows create, comes
after that state; states that need each other are one step. So the chain "S01-AC-001 becomes
S29-AC-001; S01-AC-120 becomes S01-AC-001" applies Telangana (S29) first, then Andhra Pradesh.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext as _

from groups.delimitation.reading import WORD_OF_DESIGNATION, MappingRefused, MappingRow
from groups.models import Designation, Group, Kind

LOOKUP_CHUNK = 5000


@dataclass(slots=True)
class Node:
    """A node as it is now."""

    id: int
    code: str
    kind: int
    above_id: int | None  # the mptt parent, or for a tree root the node it hangs from
    is_root: bool
    is_active: bool
    name: str


@dataclass(slots=True)
class Change:
    """A row, resolved: the node it changes (none for a create), its code after, and where it
    goes (an existing node, or the node another row creates)."""

    row: MappingRow
    node: Node | None
    kind: int
    new_code: str
    above_id: int | None = None
    above_line: int | None = None
    state_code: str = ""
    step: int = 0

    @property
    def line(self) -> int:
        return self.row.line

    @property
    def action(self) -> str:
        return self.row.action

    @property
    def key(self) -> int | tuple[str, int]:
        """The node's id, or ("create", line) for a node still to be made."""
        return self.node.id if self.node is not None else ("create", self.row.line)


@dataclass
class Plan:
    changes: list[Change]
    # State codes of each step, in the order the steps run.
    steps: list[tuple[str, ...]] = field(default_factory=list)


def kind_word(kind: int) -> str:
    """The kind as messages name it (translated)."""
    return str(Kind(kind).label)


def above_allowed(kind: int, above_kind: int) -> bool:
    """Where a node of `kind` may hang: a state under the national node; a zone, district,
    Lok Sabha or assembly constituency under a shallower node of a state's tree; a mandal or
    booth under an assembly constituency or a mandal."""
    if kind == Kind.STATE:
        return above_kind == Kind.NATIONAL
    if above_kind >= kind or above_kind == Kind.NATIONAL:
        return False
    if kind in (Kind.MANDAL, Kind.BOOTH):
        return above_kind in (Kind.ASSEMBLY, Kind.MANDAL)
    return above_kind < Kind.ASSEMBLY


# The kind of node each designation may be given (the constraint group_designation_fits_kind).
DESIGNATION_KIND = {
    Designation.UNION_TERRITORY: Kind.STATE,
    Designation.WHOLE_CONSTITUENCY: Kind.ASSEMBLY,
}


def mapping_plan(rows: list[MappingRow]) -> Plan:
    """Check the rows against the tree as it is and order them into steps; MappingRefused
    with every problem found, by line, when the mapping cannot be applied as a whole."""
    return _Planner(rows).plan()


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == LOOKUP_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _nodes(queryset) -> Iterator[Node]:
    for node_id, code, kind, parent_id, upper_id, is_active, name in queryset.values_list(
        "id", "code", "kind", "parent_id", "upper_id", "is_active", "name"
    ):
        yield Node(node_id, code, kind, parent_id or upper_id, parent_id is None, is_active, name)


class _Planner:
    def __init__(self, rows: list[MappingRow]) -> None:
        self.rows = rows
        self.problems: list[tuple[int, str]] = []
        # Every node but the booths, and the booths the rows name.
        self.nodes: dict[int, Node] = {
            n.id: n for n in _nodes(Group.objects.exclude(kind=Kind.BOOTH))
        }
        self.by_code: dict[str, Node] = {n.code: n for n in self.nodes.values()}
        self.national = next(
            (n for n in self.nodes.values() if n.kind == Kind.NATIONAL and n.above_id is None), None
        )
        self.changes: list[Change] = []
        self.row_of: dict[int, Change] = {}  # node id -> its change
        self.created: dict[int, Change] = {}  # line -> change of a create
        self.merges: dict[int, Change] = {}  # node id -> its merge
        self._owner: dict[int, Change | None] = {}

    def refuse_if_problems(self) -> None:
        if self.problems:
            raise MappingRefused(self.problems)

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    # --- Rows to changes ------------------------------------------------------------------

    def plan(self) -> Plan:
        # Every check runs on the rows that passed the ones before, so that one refusal lists
        # every kind of problem the file has.
        self._resolve_nodes()
        self._check_codes()
        self._resolve_above()
        self._check_places()
        self.refuse_if_problems()
        steps = self._steps()
        return Plan(changes=self.changes, steps=steps)

    def _resolve_nodes(self) -> None:
        named = {r.old_code for r in self.rows if r.old_code and r.old_code not in self.by_code}
        for chunk in _chunks(sorted(named)):
            for node in _nodes(Group.objects.filter(code__in=chunk)):
                self.nodes[node.id] = node
                self.by_code[node.code] = node
        first_line: dict[str, int] = {}
        for row in self.rows:
            node = None
            if row.action != "create":
                node = self.by_code.get(row.old_code)
                if node is None:
                    self.problem(
                        row.line,
                        _("no node in the tree has the code %(code)s") % {"code": row.old_code},
                    )
                    continue
                if row.old_code in first_line:
                    self.problem(
                        row.line,
                        _("%(code)s is mapped twice (first on line %(line)s)")
                        % {"code": row.old_code, "line": first_line[row.old_code]},
                    )
                    continue
                first_line[row.old_code] = row.line
                if row.kind is not None and row.kind != node.kind:
                    self.problem(
                        row.line,
                        _("%(code)s is of the kind %(kind)s, not %(given)s")
                        % {
                            "code": node.code,
                            "kind": kind_word(node.kind),
                            "given": kind_word(row.kind),
                        },
                    )
                    continue
                if node.kind == Kind.NATIONAL:
                    self.problem(row.line, _("the national node cannot be moved or retired"))
                    continue
                if row.action == "merge" and connection.vendor != "postgresql":
                    # The merge's set-wise SQL (recursive walks, LATERAL, renumbering) is
                    # PostgreSQL's; the embedded SQLite default refuses it, writing nothing.
                    self.problem(
                        row.line,
                        _("a merge needs PostgreSQL (set DATABASE_URL); this database is %(db)s")
                        % {"db": connection.display_name},
                    )
                    continue
                if row.action == "merge" and node.kind == Kind.BOOTH:
                    self.problem(
                        row.line,
                        _(
                            "%(code)s is a polling booth: nothing is under it to merge (booths "
                            "are merged on the booth's page)"
                        )
                        % {"code": node.code},
                    )
                    continue
                if not node.is_active:
                    self.problem(
                        row.line,
                        _("%(code)s is deactivated already; leave it out, or reactivate it first")
                        % {"code": node.code},
                    )
                    continue
            elif row.kind == Kind.NATIONAL:
                self.problem(row.line, _("there is one national node; it cannot be created"))
                continue
            kind = node.kind if node else row.kind
            fits = DESIGNATION_KIND.get(row.designation) if row.designation else kind
            if fits != kind:
                self.problem(
                    row.line,
                    _(
                        "the designation %(designation)s is for a node of the kind %(fits)s, "
                        "not %(kind)s"
                    )
                    % {
                        "designation": WORD_OF_DESIGNATION[row.designation],
                        "fits": kind_word(fits),
                        "kind": kind_word(kind),
                    },
                )
                continue
            change = Change(
                row=row, node=node, kind=kind, new_code=row.new_code or (node.code if node else "")
            )
            self.changes.append(change)
            if node is not None:
                self.row_of[node.id] = change
                if row.action == "merge":
                    self.merges[node.id] = change
            else:
                self.created[row.line] = change

    # --- Codes ----------------------------------------------------------------------------

    def owner(self, node: Node) -> Change | None:
        """The change of the nearest node above `node` that has a row."""
        chain = []
        found: Change | None = None
        current = node
        while True:
            if current.id in self._owner:
                found = self._owner[current.id]
                break
            above = self.nodes.get(current.above_id) if current.above_id else None
            chain.append(current.id)
            if above is None:
                break
            if above.id in self.row_of:
                found = self.row_of[above.id]
                break
            current = above
        for node_id in chain:
            self._owner[node_id] = found
        return found

    def final_code(self, node: Node) -> str:
        change = self.row_of.get(node.id)
        if change is not None:
            return change.new_code
        owner = self.owner(node)
        if owner is not None and owner.action == "merge":
            # Renumbered under the node it goes to, into free codes, when the step runs.
            return node.code
        if owner is not None and owner.node is not None and owner.new_code != owner.node.code:
            prefix = owner.node.code + "-"
            if node.code.startswith(prefix):
                return owner.new_code + node.code[len(owner.node.code) :]
        return node.code

    def _check_codes(self) -> None:
        """Every code after the mapping belongs to one node; a code a row takes is free, or
        given up by its holder; no codes go round in a circle."""
        self.final_holder: dict[str, int | tuple[str, int]] = {}
        taken_by: dict[str, Change] = {}
        for change in self.changes:
            if change.node is not None and change.new_code == change.node.code:
                continue
            other = taken_by.get(change.new_code)
            if other is not None:
                self.problem(
                    change.line,
                    _("the code %(code)s is given twice (also on line %(line)s)")
                    % {"code": change.new_code, "line": other.line},
                )
                continue
            taken_by[change.new_code] = change
        # Booths that hold a code a row wants, and are not named by a row themselves.
        unknown = sorted(code for code in taken_by if code not in self.by_code)
        for chunk in _chunks(unknown):
            for node in _nodes(Group.objects.filter(code__in=chunk)):
                self.nodes[node.id] = node
                self.by_code[node.code] = node
        self.movers: dict[int | tuple[str, int], tuple[str, Change]] = {}
        for code, change in taken_by.items():
            self.movers[change.key] = (code, change)
            holder = self.by_code.get(code)
            if holder is None or (change.node is not None and holder.id == change.node.id):
                continue
            if self.final_code(holder) == code:
                self.problem(
                    change.line,
                    _(
                        "the code %(code)s belongs to %(name)s, which keeps it: "
                        "no row gives it another code"
                    )
                    % {"code": code, "name": holder.name},
                )
        for node in list(self.nodes.values()):
            if node.id in self.row_of or node.kind == Kind.BOOTH:
                continue
            code = self.final_code(node)
            if code == node.code:
                continue
            owner = self.owner(node)
            other = taken_by.get(code)
            if other is not None:
                self.problem(
                    other.line,
                    _("the code %(code)s is also what %(old)s becomes, following line %(line)s")
                    % {"code": code, "old": node.code, "line": owner.line},
                )
                continue
            taken_by[code] = owner
            self.movers[node.id] = (code, owner)
            holder = self.by_code.get(code)
            if holder is not None and holder.id != node.id and self.final_code(holder) == code:
                self.problem(
                    owner.line,
                    _(
                        "%(old)s would become %(code)s, which belongs to "
                        "%(name)s, and no row gives that another code"
                    )
                    % {"old": node.code, "code": code, "name": holder.name},
                )
        self._check_circles()

    def _check_circles(self) -> None:
        """A code taken from a holder that gives it up means: the holder first. Circles
        (A becomes B and B becomes A) have no first and are refused."""
        after: dict[object, object] = {}
        # (taker, giver): the change that takes a code, and the change that makes its holder
        # give it up (its own row, or the row its code follows).
        self.code_needs: list[tuple[Change, Change]] = []
        for key, (code, change) in self.movers.items():
            holder = self.by_code.get(code)
            if holder is None or holder.id == key:
                continue
            if holder.id in self.movers:
                after[key] = holder.id
                self.code_needs.append((change, self.movers[holder.id][1]))
            elif (giver := self.owner(holder)) is not None:
                self.code_needs.append((change, giver))
        state: dict[object, int] = {}
        for start in after:
            if start in state:
                continue
            path = []
            current = start
            while current in after and current not in state:
                state[current] = 1
                path.append(current)
                current = after[current]
            if current in state and state[current] == 1:
                circle = path[path.index(current) :]
                lines = sorted({self.movers[key][1].line for key in circle})
                codes = [self._current_code(key) for key in circle]
                for line in lines:
                    self.problem(
                        line,
                        _(
                            "the codes %(codes)s go round in a circle (each becomes "
                            "the next, lines %(lines)s): a circle has no first change"
                        )
                        % {
                            "codes": " → ".join([*codes, codes[0]]),
                            "lines": ", ".join(str(line) for line in lines),
                        },
                    )
            for key in path:
                state[key] = 2

    def _current_code(self, key) -> str:
        node = self.nodes.get(key) if isinstance(key, int) else None
        return node.code if node is not None else self.movers[key][0]

    # --- Places ---------------------------------------------------------------------------

    def _resolve_above(self) -> None:
        named = sorted({c.row.above for c in self.changes if c.row.above} - self.by_code.keys())
        for chunk in _chunks(named):
            for node in _nodes(Group.objects.filter(code__in=chunk)):
                self.nodes[node.id] = node
                self.by_code[node.code] = node
        final_index: dict[str, int | tuple[str, int]] = {}
        for node in self.nodes.values():
            if node.kind != Kind.BOOTH:
                final_index[self.final_code(node)] = node.id
        for change in self.created.values():
            final_index[change.new_code] = change.key
        for change in self.changes:
            row = change.row
            above_code = row.above
            if not above_code:
                if change.node is None and change.kind == Kind.STATE and self.national is not None:
                    change.above_id = self.national.id
                continue
            target = final_index.get(above_code)
            if target is None:
                holder = self.by_code.get(above_code)
                if holder is not None and holder.kind != Kind.BOOTH:
                    self.problem(
                        row.line,
                        _(
                            "%(code)s becomes %(new)s: name the node above by "
                            "its code after the mapping"
                        )
                        % {"code": above_code, "new": self.final_code(holder)},
                    )
                elif holder is not None:
                    self.problem(
                        row.line,
                        _("%(code)s is a polling booth: nothing goes under a booth")
                        % {"code": above_code},
                    )
                else:
                    self.problem(
                        row.line,
                        _("no node has the code %(code)s (as it is after the mapping) to go under")
                        % {"code": above_code},
                    )
                continue
            above_kind = (
                self.nodes[target].kind if isinstance(target, int) else self.created[target[1]].kind
            )
            renumbered = self._renumbered_by_merge(target)
            if renumbered is not None:
                self.problem(
                    row.line,
                    _(
                        "%(code)s goes with the merge on line %(line)s and is renumbered where "
                        "it goes, when the step runs: name a node whose code the mapping knows"
                    )
                    % {"code": above_code, "line": renumbered.line},
                )
                continue
            if change.action == "merge":
                if target == change.key:
                    self.problem(
                        row.line,
                        _("%(code)s cannot be merged into itself") % {"code": above_code},
                    )
                    continue
                if above_kind != change.kind:
                    self.problem(
                        row.line,
                        _(
                            "%(code)s (%(kind)s) can only be merged into a node of its kind, "
                            "not %(above)s (%(above_kind)s)"
                        )
                        % {
                            "code": change.node.code,
                            "kind": kind_word(change.kind),
                            "above_kind": kind_word(above_kind),
                            "above": above_code,
                        },
                    )
                    continue
            elif not above_allowed(change.kind, above_kind):
                self.problem(
                    row.line,
                    _("%(code)s (%(kind)s) cannot go under %(above)s (%(above_kind)s)")
                    % {
                        "code": change.new_code,
                        "kind": kind_word(change.kind),
                        "above_kind": kind_word(above_kind),
                        "above": above_code,
                    },
                )
                continue
            if isinstance(target, int):
                change.above_id = target
            else:
                change.above_line = target[1]
        for change in self.changes:
            if change.node is None and change.above_id is None and change.above_line is None:
                self.problem(change.line, _("a create needs its %(column)s") % {"column": "above"})

    def _renumbered_by_merge(self, key) -> Change | None:
        """The merge that takes the node along and gives it a new number (its code follows
        the merged node's), if one does."""
        if not isinstance(key, int) or key in self.row_of:
            return None
        owner = self.owner(self.nodes[key])
        if owner is None or owner.action != "merge":
            return None
        return owner if self.nodes[key].code.startswith(owner.node.code + "-") else None

    @staticmethod
    def target(change: Change) -> object | None:
        """Where the change sends its node (a merge: what is under it), as a key."""
        if change.above_id:
            return change.above_id
        return ("create", change.above_line) if change.above_line else None

    def final_above(self, key) -> object | None:
        change = self.row_of.get(key) if isinstance(key, int) else self.created.get(key[1])
        if change is not None and change.action != "merge" and self.target(change):
            return self.target(change)
        node = self.nodes.get(key) if isinstance(key, int) else None
        above = node.above_id if node is not None else None
        # What a merge takes along: the nodes under it that stay where they are, or move
        # without a place of their own (retired and merged ones stay, retired).
        merge = self.merges.get(above) if above is not None else None
        if merge is not None and (change is None or change.action == "move"):
            return self.target(merge) or above
        return above

    def _describe(self, key) -> str:
        if isinstance(key, int):
            return self.nodes[key].code
        return self.created[key[1]].new_code

    def _check_places(self) -> None:
        """No node ends up under itself, and none that stays active under a retired one."""
        limit = 64
        for change in self.changes:
            if change.action == "merge" or not (change.above_id or change.above_line):
                continue
            seen = {change.key}
            current = self.final_above(change.key)
            for _depth in range(limit):
                if current is None:
                    break
                if current in seen:
                    self.problem(
                        change.line,
                        _("%(code)s would end up under itself (through %(through)s)")
                        % {"code": self._describe(change.key), "through": self._describe(current)},
                    )
                    break
                seen.add(current)
                current = self.final_above(current)
        self._inactive: dict[object, tuple[Change | None, str] | None] = {}
        for merge in self.merges.values():
            target = self.target(merge)
            reason = self._inactive_after(target) if target is not None else None
            if reason is None:
                continue
            retire, code = reason
            if retire is not None:
                self.problem(
                    merge.line,
                    _("%(code)s cannot be merged into %(above)s, which line %(line)s retires")
                    % {"code": merge.node.code, "above": code, "line": retire.line},
                )
            else:
                self.problem(
                    merge.line,
                    _("%(code)s cannot be merged into %(above)s, which is deactivated")
                    % {"code": merge.node.code, "above": code},
                )
        for change in self.changes:
            if change.action in ("retire", "merge"):
                continue
            above = self.final_above(change.key)
            reason = self._inactive_after(above) if above is not None else None
            if reason is None:
                continue
            retire, code = reason
            if retire is not None:
                self.problem(
                    change.line,
                    _("%(code)s would be under %(above)s, which line %(line)s retires")
                    % {"code": change.new_code, "above": code, "line": retire.line},
                )
            else:
                self.problem(
                    change.line,
                    _("%(code)s would be under %(above)s, which is deactivated")
                    % {"code": change.new_code, "above": code},
                )

    def _inactive_after(self, key) -> tuple[Change | None, str] | None:
        """Why the node would be inactive after the mapping: (its retire row, or the one above
        it that retires it, and the code of the node it retires), or (None, code) for a node
        deactivated now; None when it stays active."""
        if key in self._inactive:
            return self._inactive[key]
        change = self.row_of.get(key) if isinstance(key, int) else self.created.get(key[1])
        result = None
        if change is not None and change.action in ("retire", "merge"):
            result = (change, change.new_code)
        elif change is None:
            node = self.nodes[key]
            above = self.final_above(key)
            if not node.is_active:
                result = (None, node.code)
            elif above is not None:
                result = self._inactive_after(above)
        self._inactive[key] = result
        return result

    # --- Steps ----------------------------------------------------------------------------

    def state_of(self, key) -> str:
        """The code, after the mapping, of the state the node ends in."""
        current = key
        last = key
        for _depth in range(64):
            if current is None:
                break
            kind = (
                self.nodes[current].kind
                if isinstance(current, int)
                else self.created[current[1]].kind
            )
            if kind == Kind.STATE:
                return self._final_code_of(current)
            if kind == Kind.NATIONAL:
                break
            last = current
            current = self.final_above(current)
        return self._final_code_of(last)

    def _final_code_of(self, key) -> str:
        if isinstance(key, int):
            return self.final_code(self.nodes[key])
        return self.created[key[1]].new_code

    def _steps(self) -> list[tuple[str, ...]]:
        for change in self.changes:
            # A merge belongs to the state that takes what was under its node.
            at = self.target(change) if change.action == "merge" else change.key
            change.state_code = self.state_of(at)
        needs: dict[str, set[str]] = defaultdict(set)
        states = {change.state_code for change in self.changes}
        for taker, giver in self.code_needs:
            if taker.state_code != giver.state_code:
                needs[taker.state_code].add(giver.state_code)
        for change in self.changes:
            if change.above_line is not None:
                maker = self.created[change.above_line].state_code
                if maker != change.state_code:
                    needs[change.state_code].add(maker)
        steps = _ordered_components(states, needs)
        number_of = {state: number for number, step in enumerate(steps, start=1) for state in step}
        for change in self.changes:
            change.step = number_of[change.state_code]
        return steps


def _ordered_components(states: set[str], needs: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """States that need each other (a strongly connected component) as one step; steps in an
    order where each comes after the steps it needs, ties by state code."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[tuple[str, ...]] = []
    counter = 0
    for start in sorted(states):
        if start in index:
            continue
        work = [(start, iter(sorted(needs.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            state, pending = work[-1]
            following = next(pending, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = counter
                    counter += 1
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(needs.get(following, ())))))
                elif following in on_stack:
                    low[state] = min(low[state], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[state])
            if low[state] == index[state]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == state:
                        break
                components.append(tuple(sorted(component)))
    component_of = {state: component for component in components for state in component}
    waiting_on: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for state, needed in needs.items():
        for other in needed:
            if component_of[other] != component_of[state]:
                waiting_on[component_of[state]].add(component_of[other])
    unblocks: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for component, needed in waiting_on.items():
        for other in needed:
            unblocks[other].append(component)
    ready = [component for component in components if not waiting_on[component]]
    heapq.heapify(ready)
    ordered = []
    while ready:
        component = heapq.heappop(ready)
        ordered.append(component)
        for later in unblocks[component]:
            waiting_on[later].discard(component)
            if not waiting_on[later]:
                heapq.heappush(ready, later)
    return ordered
