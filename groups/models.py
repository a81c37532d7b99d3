"""The party's organisational tree: national level, states, zones, districts, Lok Sabha and
assembly constituencies, mandals and polling booths.

Layout (see README, "The group tree"): a nested set renumbers every node to the right of an
insert within its tree (`tree_id`), so the tree is cut into small trees:

- the national node is a tree of its own and a *virtual* root: its children are the roots
  that have nothing above them (the states);
- each state is a tree holding its zones, districts and Lok Sabha constituencies;
- each assembly constituency is a tree of its own holding its mandals and booths, and points
  at the node above it (its Lok Sabha constituency, say) through `upper`, not `parent`.

A booth insert or move then renumbers a few hundred rows, not a state's 160,000; moving an
assembly constituency only changes its `upper`. `parent` is mptt's parent within a tree; the
node above any node is `parent` or, for a tree root, `upper` (selectors.group_above).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey


class Kind(models.IntegerChoices):
    """Levels of the organisation, top to bottom. A child is always of a deeper kind."""

    NATIONAL = 10, _("National")
    STATE = 20, _("State")
    ZONE = 30, _("Zone")
    DISTRICT = 40, _("District")
    PARLIAMENTARY = 50, _("Lok Sabha constituency")
    ASSEMBLY = 60, _("Assembly constituency")
    MANDAL = 70, _("Mandal / block")
    BOOTH = 80, _("Polling booth")


class Designation(models.TextChoices):
    """What a node is when its kind alone would say something untrue: a union territory is
    no state, and a UT without a legislature has no assembly constituencies. The kind stays
    (the tree's levels need it); pages, the API and exports show the designation instead."""

    NONE = "", _("as its kind")
    UNION_TERRITORY = "union_territory", _("Union territory")
    # The one stand-in node under a Lok Sabha constituency of a UT without a legislature
    # (Ladakh, Chandigarh...): it holds the booths, as ECI numbers them (AC 1), but no one
    # elects an assembly there.
    WHOLE_CONSTITUENCY = "whole_constituency", _("Whole constituency (no assembly)")


code_validator = RegexValidator(
    r"^[A-Z0-9]+(-[A-Z0-9]+)*$",
    _("Use capital letters and digits in parts joined by single hyphens, e.g. S24-AC-403."),
)
whatsapp_invite_validator = RegexValidator(
    r"^https://chat\.whatsapp\.com/[A-Za-z0-9]{16,32}$",
    _("Enter a WhatsApp group invite link: https://chat.whatsapp.com/ followed by the code."),
)


# Kinds whose nodes always start a tree of their own (see the module docstring).
TREE_ROOT_KINDS = frozenset({Kind.NATIONAL, Kind.STATE, Kind.ASSEMBLY})


class Group(MPTTModel):
    """A node of the tree, and the real-world group (WhatsApp, Telegram) of its workers."""

    name = models.CharField(_("name"), max_length=200)
    name_local = models.CharField(
        _("local-language name"), max_length=200, blank=True, help_text=_("In its own script.")
    )
    kind = models.PositiveSmallIntegerField(_("kind"), choices=Kind.choices)
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        validators=[code_validator],
        help_text=_("Derived from the Election Commission's codes, e.g. S24-AC-403-B-0012."),
    )
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    upper = models.ForeignKey(
        "self",
        verbose_name=_("above"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lower_trees",
        help_text=_(
            "For the root of a tree below a state (an assembly constituency): the node above it."
        ),
    )
    whatsapp_invite_link = models.URLField(
        _("WhatsApp invite link"), blank=True, validators=[whatsapp_invite_validator]
    )
    telegram_chat_id = models.BigIntegerField(_("Telegram chat id"), null=True, blank=True)
    designation = models.CharField(
        _("designation"),
        max_length=24,
        choices=Designation.choices,
        blank=True,
        default=Designation.NONE,
        help_text=_("Set by the reference data: a union territory, or a whole constituency."),
    )
    electors = models.PositiveIntegerField(
        _("electors"), null=True, blank=True, help_text=_("From the electoral roll, if known.")
    )
    electors_estimated = models.BooleanField(
        _("electors estimated"),
        default=False,
        help_text=_(
            "The elector count is an estimate (a redrawn constituency: its state's electors "
            "spread over its new constituencies), not a roll figure."
        ),
    )
    is_generated = models.BooleanField(
        _("generated"),
        default=False,
        help_text=_("A booth made up from the elector count, until a real booth list replaces it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # mptt would index tree_id on its own; the (tree_id, lft) index below already serves it,
    # and every index slows the renumbering of a write.
    tree_id = models.PositiveIntegerField(editable=False)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["tree_id", "lft"]
        indexes = [
            # mptt adds (tree_id, lft) at run time only; declared here so migrations carry it.
            models.Index(fields=["tree_id", "lft"], name="groups_tree_lft"),
            models.Index(fields=["tree_id", "rght"], name="groups_tree_rght"),
            models.Index(fields=["level"], name="groups_level"),
            models.Index(fields=["kind"], name="groups_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(designation=Designation.NONE)
                | models.Q(designation=Designation.UNION_TERRITORY, kind=Kind.STATE)
                | models.Q(designation=Designation.WHOLE_CONSTITUENCY, kind=Kind.ASSEMBLY),
                name="group_designation_fits_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_kind_display(self) -> str:
        """The kind as people say it: "Union territory", not "State", for Delhi or Ladakh.

        Overrides Django's generated method, so that every page, the API and the suggestions
        (which all show `get_kind_display`) say what the node is."""
        field = "designation" if self.designation else "kind"
        return self._get_FIELD_display(self._meta.get_field(field))

    @property
    def is_booth(self) -> bool:
        return self.kind == Kind.BOOTH

    @property
    def above_id(self) -> int | None:
        """The node above this one: the mptt parent, or for a tree root its `upper`."""
        return self.parent_id or self.upper_id


class Role(models.TextChoices):
    LEAD = "lead", _("Lead")
    # Office staff and data operators: keep the register, change nothing else.
    ORGANISER = "organiser", _("Organiser")
    APPROVER = "approver", _("Approver")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")


class Assignment(models.Model):
    """A staff user's role at a group node; their scope is the subtree under it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "group", "role"], name="assignment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.group}"


class GroupFigures(models.Model):
    """Figures for a node's whole subtree, rolled up by a task (never counted per page view)."""

    group = models.OneToOneField(
        Group, primary_key=True, on_delete=models.CASCADE, related_name="figures"
    )
    booths = models.PositiveIntegerField(default=0)
    booths_with_whatsapp = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(default=0)
    active_members = models.PositiveIntegerField(default=0)
    booths_with_active_member = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subtree figures")
        verbose_name_plural = _("subtree figures")

    def __str__(self) -> str:
        return f"Figures of group {self.group_id}"


class StaleFigures(models.Model):
    """A tree whose figures may be behind its rows (`tree_id` 0: every tree), since `since`.

    Written in the transaction of the change, and only when the tree is not marked already, so
    that a busy tree costs one insert per recount, not one write per member saved; a recount
    sets `counting` before it reads the rows and removes the mark after, unless the tree was
    written meanwhile (groups.services, "Figures"). Beat's round recounts every tree marked here,
    so a recount whose message was lost (the broker down) still happens within a minute.
    """

    tree_id = models.PositiveIntegerField(primary_key=True)
    since = models.DateTimeField()
    counting = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Figures of tree {self.tree_id} stale since {self.since:%Y-%m-%d %H:%M:%S}"


# --- Delimitation (groups.delimitation) ---------------------------------------------------


class Delimitation(models.Model):
    """A mapping file from old to new constituencies and booths, applied to the tree.

    Its checked rows are its `changes`, cut into `steps` (the changes of one state, or of
    states that need each other's codes); a step lands in one transaction with its line in
    the ledger (`DelimitationStep`), so a run stopped anywhere and started again with the same
    file goes on from the first step not in the ledger (groups.delimitation.applying).
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Being applied")
        FAILED = "failed", _("Stopped by a problem")
        DONE = "done", _("Applied")

    file_name = models.CharField(_("file name"), max_length=255)
    # SHA-256 of the file's bytes: the same file run again resumes this delimitation.
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    steps_total = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=1)  # started once, plus each resume
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("delimitation")
        verbose_name_plural = _("delimitations")

    def __str__(self) -> str:
        from cadreconnect.privacy import redact

        return f"{redact(self.file_name)} ({self.get_status_display()})"


class DelimitationCheck(models.Model):
    """A mapping uploaded on the delimitation page and its dry run, done by a worker
    (groups.delimitation.office): the page reads the report or the problems here. The run
    asked for from it is recorded here too until the engine's `Delimitation` says more (a
    mapping the worker refuses before writing anything has no `Delimitation`)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for a worker")
        CHECKING = "checking", _("Being checked")
        PASSED = "passed", _("Checked")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Not checked")

    class Run(models.TextChoices):
        NONE = "", _("Not asked for")
        QUEUED = "queued", _("Waiting for a worker")
        STARTED = "started", _("Started")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Not applied")
        DONE = "done", _("Applied")

    digest = models.CharField(max_length=64)  # SHA-256 of the kept file (office.KEPT_DIRECTORY)
    file_name = models.CharField(_("file name"), max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    # The dry run's Outcome: {"steps": [...], "already_applied", "resumed", "failure"}.
    report = models.JSONField(default=dict)
    problems = models.JSONField(default=list)  # [[line, message], ...] of a refused mapping
    error = models.TextField(blank=True)
    token = models.CharField(max_length=32, blank=True)  # the claim of the worker checking it
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run = models.CharField(max_length=8, choices=Run.choices, default=Run.NONE, blank=True)
    run_requested_at = models.DateTimeField(null=True, blank=True)
    run_error = models.TextField(blank=True)
    run_problems = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["digest"], name="delimitation_check_digest")]

    def __str__(self) -> str:
        from cadreconnect.privacy import redact

        return f"{redact(self.file_name)} ({self.get_status_display()})"


class DelimitationChange(models.Model):
    """One row of a mapping file, checked and resolved against the tree: what the run does."""

    class Action(models.TextChoices):
        MOVE = "move", _("move")
        CREATE = "create", _("create")
        RETIRE = "retire", _("retire")

    delimitation = models.ForeignKey(Delimitation, on_delete=models.CASCADE, related_name="changes")
    line = models.PositiveIntegerField()
    step = models.PositiveIntegerField()
    state_code = models.CharField(max_length=64)  # the state it ends in (its code after)
    action = models.CharField(max_length=8, choices=Action.choices)
    # The node changed; for a create, the node once created (set in its step's transaction).
    node = models.ForeignKey(
        Group, null=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    kind = models.PositiveSmallIntegerField(choices=Kind.choices)
    old_code = models.CharField(max_length=64, blank=True)
    new_code = models.CharField(max_length=64, blank=True)  # its code after: always set
    # Where it goes: an existing node that no row changes, or the node of another row.
    above = models.ForeignKey(
        Group, null=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    above_line = models.PositiveIntegerField(null=True)
    name = models.CharField(max_length=200, blank=True)  # blank: the name stays
    name_local = models.CharField(max_length=200, blank=True)
    electors = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delimitation", "line"], name="delimitation_line_once")
        ]
        indexes = [
            models.Index(fields=["delimitation", "step"], name="delimitation_change_step"),
            models.Index(fields=["delimitation", "node"], name="delimitation_change_node"),
        ]

    def __str__(self) -> str:
        code = self.old_code or self.new_code
        return f"{self.delimitation_id} line {self.line}: {self.action} {code}"


class DelimitationStep(models.Model):
    """The ledger of a delimitation: a step applied, written in the transaction that applied
    it, with what it changed (the report the dry run printed)."""

    delimitation = models.ForeignKey(Delimitation, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField()
    states = models.CharField(max_length=255)
    done_at = models.DateTimeField(auto_now_add=True)
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delimitation", "number"], name="delimitation_step_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delimitation_id} step {self.number} ({self.states})"


class BoothPlacement(models.Model):
    """A booth of a constituency a delimitation retired, with no order saying where it goes:
    it waits, with its members, for a lead to place it in an active constituency."""

    delimitation = models.ForeignKey(
        Delimitation, on_delete=models.CASCADE, related_name="placements"
    )
    booth = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="placements")
    retired_from = models.CharField(_("retired constituency"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    placed_into = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    placed_code = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["booth__code"]
        verbose_name = _("booth to place")
        verbose_name_plural = _("booths to place")
        constraints = [
            models.UniqueConstraint(
                fields=["booth"], condition=models.Q(placed_at__isnull=True),
                name="placement_one_open_per_booth",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"Booth {self.booth_id} from {self.retired_from}"


class DelimitationNotice(models.Model):
    """A role held at a node a delimitation retired. Its holder keeps the role (and so read
    access to what was theirs) until reassigned, and is told at their next sign-in
    (`seen_at`). Removing the role removes the notice."""

    delimitation = models.ForeignKey(Delimitation, on_delete=models.CASCADE, related_name="notices")
    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="delimitation_notices"
    )
    group_code = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delimitation", "assignment"], name="delimitation_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"Assignment {self.assignment_id}: {self.group_code} retired"
