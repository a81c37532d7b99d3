"""The cadre register: party workers, the offices they hold, the groups they are in, and
their consent to be contacted (India's Digital Personal Data Protection Act 2023).

A member's home booth decides who may see them. For fast scoped queries at ten million
members, the member row also carries the tree of its booth (`tree_id`: the assembly
constituency's tree) and its state, kept right when the tree changes (members.receivers).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Group


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        SUSPENDED = "suspended", _("Suspended")
        DECEASED = "deceased", _("Deceased")

    class Gender(models.TextChoices):
        FEMALE = "f", _("Female")
        MALE = "m", _("Male")
        OTHER = "x", _("Other")

    full_name = models.CharField(_("full name"), max_length=200)
    name_local = models.CharField(_("name in the local script"), max_length=200, blank=True)
    # Unique through Meta.constraints (one b-tree; `unique=True` would add a second index for
    # LIKE queries that nothing makes).
    phone = models.CharField(_("phone"), max_length=16, help_text=_("E.164"))
    whatsapp_number = models.CharField(
        _("WhatsApp number"), max_length=16, blank=True, help_text=_("Only if not the phone.")
    )
    email = models.EmailField(_("e-mail"), blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(
        _("birth year"),
        null=True,
        blank=True,
        # The upper bound (this year) is checked by the services: a validator here would put
        # the year into the migrations.
        validators=[MinValueValidator(1900)],
    )
    epic = models.CharField(
        _("voter id (EPIC)"),
        max_length=10,
        blank=True,
        help_text=_("Not unique: the Election Commission has issued some EPICs twice."),
    )
    booth = models.ForeignKey(
        Group,
        verbose_name=_("home booth"),
        on_delete=models.PROTECT,
        related_name="home_members",
        limit_choices_to={"kind": 80},
        db_index=False,  # member_booth_status serves it
    )
    # Denormalised from the booth for scoped queries without joining the tree.
    tree_id = models.PositiveIntegerField(editable=False)
    state = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        editable=False,
        # Not indexed: a state's members are found through tree_id (its constituencies).
        db_index=False,
        # A copy of what the booth says (kept right by members.receivers), not a fact of its
        # own: no database constraint, whose per-row check would cost imports a quarter of
        # their time. Deleting a state with members is still refused (PROTECT, in Django).
        db_constraint=False,
    )
    phone_verified_at = models.DateTimeField(_("phone verified"), null=True, blank=True)
    epic_checked_at = models.DateTimeField(_("voter id checked"), null=True, blank=True)
    epic_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voter id checked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # a partial index (Meta): almost every row is NULL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    joined_on = models.DateField(_("joined"), default=datetime.date.today)
    recruited_by = models.ForeignKey(
        "self",
        verbose_name=_("recruited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruits",
        db_index=False,  # a partial index (Meta): most rows are NULL
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    social_handles = models.JSONField(_("social handles"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="members")
    notes = models.TextField(_("notes"), blank=True, max_length=5000)
    # The import that last created or changed the member (written by the import's upsert, in
    # the same statement: no extra cost per row). No constraint and no index, which every
    # imported row would pay for; found from the import's side by a scan, which nobody runs
    # in a hot path. A deleted import leaves the id behind, which is what it was.
    last_import = models.ForeignKey(
        "members.MemberImport",
        verbose_name=_("last changed by the import"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        # Every index costs each imported row (a million-row import writes all of them), so
        # there is one per way the register is read, and none twice. Names are searched
        # through a PostgreSQL full-text index (migration 0004).
        indexes = [
            models.Index(fields=["tree_id", "status"], name="member_tree_status"),
            models.Index(fields=["booth", "status"], name="member_booth_status"),
            # With the tree: a page of an area's members in name order is found in this index
            # alone, without reading each passed-over member's row.
            models.Index(fields=["full_name", "id"], name="member_name_order", include=["tree_id"]),
            # Lists of inactive, suspended or deceased members in name order, without walking
            # the active ones (imports, nearly all active, hardly write to it).
            models.Index(
                fields=["full_name", "id"],
                name="member_name_order_not_active",
                condition=Q(status__in=["inactive", "suspended", "deceased"]),
            ),
            models.Index(fields=["epic"], name="member_epic"),
            models.Index(
                fields=["tree_id"],
                name="member_verified",
                condition=Q(phone_verified_at__isnull=False, epic_checked_at__isnull=False),
            ),
            models.Index(
                fields=["recruited_by"],
                name="member_recruited_by",
                condition=Q(recruited_by__isnull=False),
            ),
            models.Index(
                fields=["epic_checked_by"],
                name="member_epic_checked_by",
                condition=Q(epic_checked_by__isnull=False),
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["phone"], name="member_phone_unique")]

    def __str__(self) -> str:
        # Shown in the admin's log and audit rows: never the full number.
        from cadreconnect.privacy import mask_phone

        return f"{self.full_name} ({mask_phone(self.phone)})"

    @property
    def is_verified(self) -> bool:
        """Counted in verified strength: phone confirmed by a code and voter id checked."""
        return self.phone_verified_at is not None and self.epic_checked_at is not None


class Post(models.Model):
    """A party office a member holds at a group node, for a term."""

    class Office(models.TextChoices):
        BOOTH_PRESIDENT = "booth_president", _("Booth president")
        BOOTH_AGENT = "booth_agent", _("Booth-level agent")
        MANDAL_PRESIDENT = "mandal_president", _("Mandal president")
        CONSTITUENCY_INCHARGE = "constituency_incharge", _("Constituency in-charge")
        DISTRICT_PRESIDENT = "district_president", _("District president")
        STATE_PRESIDENT = "state_president", _("State president")
        SOCIAL_MEDIA = "social_media", _("Social media coordinator")
        OTHER = "other", _("Other office")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="posts")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="posts")
    office = models.CharField(_("office"), max_length=32, choices=Office.choices)
    title = models.CharField(_("title"), max_length=100, blank=True)
    starts_on = models.DateField(_("term starts"), default=datetime.date.today)
    ends_on = models.DateField(_("term ends"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="post_term_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_office_display()}, {self.group.name}"


class Membership(models.Model):
    """A member in a group node (its WhatsApp group); admins run that level's group."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ADMIN = "admin", _("Group admin")
        COORDINATOR = "coordinator", _("Coordinator")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_on = models.DateField(_("joined"), default=datetime.date.today)

    class Meta:
        ordering = ["group__code"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["member", "group"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member.full_name} in {self.group.name}"


class Consent(models.Model):
    """Consent of a member for one purpose, from a notice of a given version, until withdrawn.

    Only members with live consent for a channel may be messaged on it.
    """

    class Purpose(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp messages")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        PROCESSING = "processing", _("Processing of personal data")

    class Source(models.TextChoices):
        FORM = "form", _("Form")
        IMPORT = "import", _("Import")
        APP = "app", _("Member app")
        STAFF = "staff", _("Recorded by staff")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    notice_version = models.CharField(_("notice version"), max_length=32)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,  # a partial index (Meta): imported consents have no recorder
    )

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_live_per_purpose",
            )
        ]
        # Who may be messaged is found from the members' side, through the partial unique
        # index above (member, purpose) of live consents.
        indexes = [
            models.Index(
                fields=["recorded_by"],
                name="consent_recorded_by",
                condition=Q(recorded_by__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} — {self.member.full_name}"

    @property
    def is_live(self) -> bool:
        return self.withdrawn_at is None


class MemberImport(models.Model):
    """An uploaded member list going through the wizard: mapped, checked (dry run), imported."""

    class Status(models.TextChoices):
        READING = "reading", _("Reading the file")
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    class Policy(models.TextChoices):
        SKIP = "skip", _("Keep existing members as they are")
        UPDATE = "update", _("Update existing members from the file")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member_imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="imports/")
    original_name = models.CharField(max_length=255)
    file_kind = models.CharField(max_length=8)  # "csv" or "xlsx"
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    policy = models.CharField(max_length=8, choices=Policy.choices, default=Policy.SKIP)
    notice_version = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READING)
    # The first rows, read by the worker for the column page (the web request never parses).
    sample = models.JSONField(default=list, blank=True)
    # The booth of rows that name none (a booth for the whole file), in the importer's area.
    default_booth = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The language the importer used: the worker writes problems and the report in it.
    language = models.CharField(max_length=8, blank=True)
    # When the file passed its check with the current columns (a run needs one).
    checked_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)  # rows landed with a field left empty
    problems = models.JSONField(default=list, blank=True)  # the first problems, for the page
    rejects_file = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)  # stable, for the API
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The claim of the task running it: a run sets its own token, and every batch it writes
    # (and every sign of life) is conditional on the token still being there. Empty when no
    # task holds it (queued, finished, or taken back by a cancel).
    run_token = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the run's last sign of life
    queued_at = models.DateTimeField(null=True, blank=True)  # its message last sent
    resumes = models.PositiveIntegerField(default=0)  # runs taken over from a dead worker
    # The batch size of the run's first start: a resumed run cuts the file the same way and
    # skips the batches already written (MemberImportBatch).
    batch_size = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["heartbeat_at"], name="member_import_running",
                condition=models.Q(status__in=["checking", "importing"]),
            ),
        ]  # fmt: skip
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")

    def __str__(self) -> str:
        # Shown in the admin and audit rows: a file may be named after a phone number.
        from cadreconnect.privacy import redact

        return f"{redact(self.original_name)} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_processed / self.rows_total))

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.CHECKING, self.Status.IMPORTING}

    @property
    def is_cancelled(self) -> bool:
        """Stopped by a person (members.services.member_import_cancel), not by a fault."""
        return self.status == self.Status.FAILED and self.error_code == "import_cancelled"

    @property
    def valid_rows(self) -> int:
        """Rows the check found fit to import."""
        return max(0, self.rows_processed - self.rejected_count)

    @property
    def may_run(self) -> bool:
        """Checked with the current columns, with something to import: from the page after
        the check, and again after a run that failed part-way."""
        return (
            self.status in {self.Status.CHECKED, self.Status.FAILED}
            and self.checked_at is not None
            and (self.status == self.Status.FAILED or self.valid_rows > 0)
        )


class MemberImportBatch(models.Model):
    """A batch of an import's file written to the register: rows `first_line` to `last_line`
    of the file. Inserted in the batch's own transaction, with its members and the import's
    counts, so a resumed run skips exactly the batches that landed, and counts each row once
    (the unique pair refuses a batch written twice)."""

    member_import = models.ForeignKey(
        MemberImport, on_delete=models.CASCADE, related_name="batches"
    )
    first_line = models.PositiveIntegerField()
    last_line = models.PositiveIntegerField()
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member_import", "first_line"], name="member_import_batch_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_import_id}: rows {self.first_line}-{self.last_line}"
