"""Delimitation as an operation: a mapping from old to new constituencies and booths applied
to the tree (`manage.py groups_delimit MAPPING.csv [--dry-run]`, and the same services behind
a page): plan, dry run, apply; resumable, one audited step per state.

The mapping file
----------------
CSV in UTF-8 (a BOM is fine), one row per change, with exactly these columns, in any order:

    action,old_code,new_code,above,kind,name,name_local,electors

- `action`: `move`, `create` or `retire`.
- `old_code`: the node as it is now (move, retire); empty for a create.
- `new_code`: its code after (empty: it keeps its code); for a create, the new node's code.
  A retired node keeps its code unless given one (for history: `S03-2008-AC-001`), which it
  must be when a new node takes its code.
- `above`: the node it hangs under after the mapping, named by its code *after* the mapping
  (empty: where it is now); a create needs one, but for a state (under the national node).
- `kind`: `state`, `zone`, `district`, `pc`, `ac`, `mandal` or `booth`; needed for a create,
  and for a move or retire a check that the code is of that kind.
- `name`, `name_local`: the name after (empty: unchanged); a create needs a name.
- `electors`: the new count (empty: unchanged, or unknown).

Codes are the tree's: `S24`, `S24-PC-80`, `S24-AC-403`, `S24-AC-403-B-0012`. A node without a
row goes where the node above it goes; its code follows the nearest node above it that has a
row, when it begins with that node's old code and a hyphen (S01-AC-120-B-0001 under S01-AC-120
becomes S01-AC-001-B-0001 when S01-AC-120 becomes S01-AC-001); otherwise it stays. Retiring a
node deactivates it and everything under it that no row moves out (never deletes: they are
kept for history); the booths left under it are listed for a lead to place, with their
members, and nothing is guessed. For example, Telangana out of Andhra Pradesh:

    action,old_code,new_code,above,kind,name,name_local,electors
    create,,S29,,state,Telangana,तेलंगाना,
    move,S01-PC-01,S29-PC-01,S29,pc,,,
    move,S01-AC-001,S29-AC-001,,ac,,,
    move,S01-PC-18,S01-PC-01,,pc,,,
    move,S01-AC-120,S01-AC-001,,ac,,,
    retire,S03-AC-005,S03-2008-AC-005,,ac,,,

A file is refused whole, with the line of every problem and nothing written, when it is too
large (GROUP_DELIMIT_MAX_BYTES, GROUP_DELIMIT_MAX_ROWS), holds a NUL or control character, is
not UTF-8, its header is not exactly these columns, a code is unknown or malformed, a node is
mapped twice, two nodes would have one code, codes go round in a circle (A becomes B and B
becomes A; a chain, S01-AC-001 becomes S29-AC-001 and S01-AC-120 becomes S01-AC-001, is
ordered instead), a node would go under one of the wrong kind (an AC under an AC, a booth
under a PC) or under itself, or would stay active under a retired node.

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
