"""Delimitation as an operation: a mapping from old to new constituencies and booths applied
to the tree (`manage.py groups_delimit MAPPING.csv [--dry-run]`, and the same services behind
a page): plan, dry run, apply; resumable, one audited step per state.

The mapping file
----------------
CSV in UTF-8 (a BOM is fine), one row per change, with exactly these columns, in any order:

    action,old_code,new_code,above,kind,name,name_local,electors,designation,electors_estimated

(the last two may be left out, as in files written before them: then no row changes them).

- `action`: `move`, `create`, `retire` or `merge`.
- `old_code`: the node as it is now (move, retire, merge); empty for a create.
- `new_code`: its code after (empty: it keeps its code); for a create, the new node's code.
  A retired node keeps its code unless given one (for history: `S03-2008-AC-001`), which it
  must be when a new node takes its code.
- `above`: the node it hangs under after the mapping, named by its code *after* the mapping
  (empty: where it is now); a create needs one, but for a state (under the national node); a
  merge needs one: the node of the same kind that takes what is under the merged one.
- `kind`: `state`, `zone`, `district`, `pc`, `ac`, `mandal` or `booth`; needed for a create,
  and for a move, retire or merge a check that the code is of that kind.
- `name`, `name_local`: the name after (empty: unchanged); a create needs a name.
- `electors`: the new count (empty: unchanged, or unknown).
- `designation`: `union_territory` (a state-kind node), `whole_constituency` (an AC-kind node:
  the stand-in of a UT without a legislature), or `none` to clear one; empty: unchanged (none
  for a create).
- `electors_estimated`: `yes` when the count is an estimate (a redrawn constituency), `no`
  when it is a roll figure; empty: unchanged (no for a create).

Codes are the tree's: `S24`, `S24-PC-80`, `S24-AC-403`, `S24-AC-403-B-0012`. A node without a
row goes where the node above it goes; its code follows the nearest node above it that has a
row, when it begins with that node's old code and a hyphen (S01-AC-120-B-0001 under S01-AC-120
becomes S01-AC-001-B-0001 when S01-AC-120 becomes S01-AC-001); otherwise it stays. Retiring a
node deactivates it and everything under it that no row moves out (never deletes: they are
kept for history); the booths left under it are listed for a lead to place, with their
members, and nothing is guessed.

A merge moves everything directly under `old_code` (but the nodes whose own rows send them
elsewhere, retire or merge them) under the node named in `above`, and retires `old_code` (it
may take a code for history, as a retired node does). The codes under it that begin with its
code and end in a letter part and a number (its booths: S09-AC-047-B-0001) are renumbered
after the highest number of that form the other node has, in the order of the rows and then
of the tree, with the same width: Ladakh's 2008 ACs 47-50 merged into U09-AC-001 give their
booths U09-AC-001-B-0001, -0002 ... in turn; other codes under it follow the nearest node
above them that took a new code (a merged state's S23-AC-001-B-0001 follows its AC, now
S05-AC-041), or else take the other node's code in place of the merged one's. Members, posts
and memberships go with their booths; roles at the merged node are kept, as at a retired one,
with a notice.

For example, Telangana out of Andhra Pradesh:

    action,old_code,new_code,above,kind,name,name_local,electors
    create,,S29,,state,Telangana,तेलंगाना,
    move,S01-PC-01,S29-PC-01,S29,pc,,,
    move,S01-AC-001,S29-AC-001,,ac,,,
    move,S01-PC-18,S01-PC-01,,pc,,,
    move,S01-AC-120,S01-AC-001,,ac,,,
    retire,S03-AC-005,S03-2008-AC-005,,ac,,,

and Ladakh, which takes J&K's ACs 47-50 whole (a UT with one whole-constituency AC):

    action,old_code,new_code,above,kind,name,name_local,electors,designation,electors_estimated
    create,,U09,,state,Ladakh,लद्दाख,,union_territory,
    create,,U09-PC-01,U09,pc,Ladakh,,,,
    create,,U09-AC-001,U09-PC-01,ac,Ladakh,,159949,whole_constituency,
    merge,S09-AC-047,,U09-AC-001,ac,,,,,

A file is refused whole, with the line of every problem and nothing written, when it is too
large (GROUP_DELIMIT_MAX_BYTES, GROUP_DELIMIT_MAX_ROWS), holds a NUL or control character, is
not UTF-8, its header is not exactly these columns, a code is unknown or malformed, a node is
mapped twice, two nodes would have one code, codes go round in a circle (A becomes B and B
becomes A; a chain, S01-AC-001 becomes S29-AC-001 and S01-AC-120 becomes S01-AC-001, is
ordered instead), a node would go under one of the wrong kind (an AC under an AC, a booth
under a PC) or under itself, or would stay active under a retired node, a designation does
not fit the node's kind, a merge is into a node of another kind, into itself, into a retired
(or merged) node, or of a booth, or a row names as its `above` a node that a merge renumbers
(its code after is only known when the step runs).

The parts: `reading` (bytes to rows), `planning` (rows against the tree, cut into steps),
`applying` (the steps, the run, the dry run, resuming), `placing` (booths left for a lead).
"""

from groups.delimitation.applying import (
    Outcome,
    StepFailed,
    delimitation_apply,
    delimitation_dry_run,
)
from groups.delimitation.placing import (
    delimitation_booth_place,
    delimitation_booths_waiting,
    delimitation_constituencies_for_placing,
)
from groups.delimitation.reading import COLUMNS, MappingRefused

__all__ = [
    "COLUMNS",
    "MappingRefused",
    "Outcome",
    "StepFailed",
    "delimitation_apply",
    "delimitation_booth_place",
    "delimitation_booths_waiting",
    "delimitation_constituencies_for_placing",
    "delimitation_dry_run",
]
