"""Campaign material and its approval by the leads of every area it is meant for.

The shape (README, "Content: the workflow"):

- `Content` is one piece of material: its workflow `state`, its author, and the current values
  of what lists, search and the library filter on (title, kind, tags, hashtags, send-at,
  expiry, priority), so that those reads need no join.
- `Revision` is a version of it: its language `Variant`s and its `Target`s belong to the
  revision. The latest revision is `current_revision`; while it is not submitted
  (`submitted_at` empty) it is the author's working draft. A submitted revision is never
  changed again (its `snapshot` keeps the content's fields as they were submitted), so every
  submitted version can be read back whole and compared with the one before
  (`content.selectors.revision_diff`). `submitted_revision` is the one under review or
  approved: what approvers see and decide, what the distribution sends.
- A `Decision` belongs to a revision: an approver's approval, request for changes or
  rejection at a node (a target's node or one above it); an approval covers every target of
  the revision in that node's subtree, and each covered target points at it
  (`Target.approval`), so "who may still decide" is the targets without one.
- An `Event` is a line of the timeline: every service writes one (actor, from and to state,
  comment, revision, time).
- A `TrustedAuthor` is a lead's trust in an author for (part of) the lead's own subtree: that
  author's targets inside it are approved on submission.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from groups.models import Group
from members.models import Post


class Content(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Video")
        DOCUMENT = "document", _("Document")
        LINK = "link", _("Link")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        SCHEDULED = "scheduled", _("Scheduled")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    class Priority(models.IntegerChoices):
        LOW = 10, _("Low")
        NORMAL = 20, _("Normal")
        HIGH = 30, _("High")
        URGENT = 40, _("Urgent")

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    # Short words without "#" or spaces, kept as lists: the campaign's own tags, and the
    # hashtags that go out with the message.
    campaign_tags = models.JSONField(_("campaign tags"), default=list, blank=True)
    hashtags = models.JSONField(_("hashtags"), default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT,
        related_name="authored_content",
    )  # fmt: skip
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT)
    current_revision = models.ForeignKey(
        "Revision", verbose_name=_("current revision"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    submitted_revision = models.ForeignKey(
        "Revision", verbose_name=_("submitted revision"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # When the submitted revision was submitted: the review queue's order (oldest first).
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    state_changed_at = models.DateTimeField(_("state changed"), auto_now_add=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("content")
        verbose_name_plural = _("content")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The review queue: content in review, oldest submission first.
            models.Index(fields=["state", "submitted_at"], name="content_state_submitted"),
            # "My drafts" and everything a user wrote.
            models.Index(fields=["author", "state"], name="content_author_state"),
            # The beat rounds: scheduled content due, content past its expiry.
            models.Index(
                fields=["send_at"], name="content_scheduled_due",
                condition=Q(state="scheduled"),
            ),
            models.Index(
                fields=["expires_at"], name="content_expiring",
                condition=Q(expires_at__isnull=False),
            ),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(send_at__isnull=True)
                | Q(expires_at__gt=models.F("send_at")),
                name="content_expires_after_send",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def fields_snapshot(self) -> dict:
        """The fields a revision keeps as they were when it was submitted (Revision.snapshot)."""
        return {
            "title": self.title,
            "kind": self.kind,
            "priority": self.priority,
            "campaign_tags": list(self.campaign_tags),
            "hashtags": list(self.hashtags),
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @property
    def is_closed(self) -> bool:
        """Rejected, withdrawn or expired: nothing more happens to it."""
        return self.state in CLOSED_STATES


CLOSED_STATES = frozenset({Content.State.REJECTED, Content.State.WITHDRAWN, Content.State.EXPIRED})


class Revision(models.Model):
    """A version of a content: its variants and targets. Unsubmitted, the author's working
    draft; submitted, kept as it was."""

    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("number"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # The content's own fields as they were submitted (title, kind, tags, hashtags, send-at,
    # expiry, priority): with the variants and targets, the whole of what was approved.
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["content", "number"]
        constraints = [
            models.UniqueConstraint(fields=["content", "number"], name="revision_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.content_id} r{self.number}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


def content_media_path(variant: Variant, filename: str) -> str:
    # Only the last part of the upload's name is kept (no directories); content.media
    # decides what may be stored at all.
    name = PurePosixPath(filename.replace("\\", "/")).name or "file"
    return f"content/{variant.revision.content_id}/{name}"


class Variant(models.Model):
    """The material in one language: body text, and optionally a media file with a caption.
    Exactly one variant of a revision is the default (the one sent where no other fits)."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="variants")
    language = models.CharField(_("language"), max_length=8, choices=settings.CONTENT_LANGUAGES)
    body = models.TextField(_("text"), blank=True)
    media = models.FileField(_("media file"), upload_to=content_media_path, blank=True)
    media_caption = models.CharField(_("caption"), max_length=1024, blank=True)
    # Set by content.media from the file's bytes (never from its name or the browser's claim).
    media_type = models.CharField(_("media type"), max_length=100, blank=True)
    media_size = models.PositiveBigIntegerField(_("media size"), null=True, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("language variant")
        verbose_name_plural = _("language variants")
        ordering = ["revision", "-is_default", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "language"], name="variant_one_per_language"
            ),
            # At most one default here; the services see that there is always one.
            models.UniqueConstraint(
                fields=["revision"], condition=Q(is_default=True), name="variant_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.revision} {self.language}"


class Target(models.Model):
    """A node the material is meant for, with its whole subtree; optionally only the holders
    of one office there (booth presidents, say)."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="targets")
    group = models.ForeignKey(
        Group, verbose_name=_("group"), on_delete=models.PROTECT, related_name="content_targets"
    )
    post = models.CharField(
        _("only holders of"), max_length=32, choices=Post.Office.choices, blank=True,
        help_text=_("Empty: everyone in the subtree."),
    )  # fmt: skip
    # The approval that covers this target on its revision (empty: still waiting for one).
    approval = models.ForeignKey(
        "Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="covered"
    )
    # Where the node sits: the ids of every node above it, top first, and its own, as
    # "/state/.../node/" (content.receivers: written with the target, rewritten when a node
    # above it moves). A target is in a subtree when its path starts with the subtree top's:
    # one range of the index below, where the group tree gives a state's 160,000 nodes
    # (bench/content.py). Ids, not nested-set numbers, so renumbering a tree changes nothing.
    path = models.CharField(_("path"), max_length=255, blank=True, editable=False)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["revision", "id"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "group", "post"], name="target_once")
        ]
        indexes = [
            # Scoped reads go from the user's nodes to the targets there, then to the content.
            models.Index(fields=["group", "revision"], name="target_group_revision"),
            # The scoped reads' prefix match (LIKE 'path%'); the pattern operator class makes
            # PostgreSQL use it whatever the database's collation.
            models.Index(fields=["path"], name="target_path", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.revision} → {self.group_id}{' ' + self.post if self.post else ''}"


class Decision(models.Model):
    """An approver's decision on a revision, made at a node: a target's own node or one above
    it (where their role is held, or a node below it they chose). An approval covers every
    target of the revision in the node's subtree."""

    class Verdict(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REQUEST_CHANGES = "request_changes", _("Request changes")
        REJECT = "reject", _("Reject")

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approver"), on_delete=models.PROTECT,
        related_name="content_decisions",
    )  # fmt: skip
    node = models.ForeignKey(
        Group, verbose_name=_("decided at"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=16, choices=Verdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    # An approval given on submission by a lead's trust in the author, not by a person's click.
    trust = models.ForeignKey(
        "TrustedAuthor", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["revision", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "approver", "node"], name="decision_once_per_node"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.revision} at {self.node_id}"


class Event(models.Model):
    """A line of a content's timeline: who did what, from which state to which."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        EDITED = "edited", _("edited")
        SUBMITTED = "submitted", _("submitted")
        APPROVE = "approve", _("approved")
        REQUEST_CHANGES = "request_changes", _("requested changes")
        REJECT = "reject", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")
        RELEASED = "released", _("released at its send time")
        EXPIRED = "expired", _("expired")

    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="events")
    revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    # Empty for the system (the beat rounds that release and expire).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    kind = models.CharField(_("what"), max_length=20, choices=Kind.choices)
    from_state = models.CharField(_("from"), max_length=20, choices=Content.State.choices)
    to_state = models.CharField(_("to"), max_length=20, choices=Content.State.choices)
    comment = models.TextField(_("comment"), blank=True)
    # What else the line says: the node of a decision, the leads whose trust approved it.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("content event")
        verbose_name_plural = _("content events")
        ordering = ["content", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.content_id}: {self.kind} {self.from_state} → {self.to_state}"

    @property
    def is_transition(self) -> bool:
        return self.from_state != self.to_state


class TrustedAuthor(models.Model):
    """A lead's trust in an author for a node of the lead's own subtree: the author's content
    for targets inside it is approved on submission, in the lead's name."""

    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("lead"), on_delete=models.PROTECT,
        related_name="content_trusts_given",
    )  # fmt: skip
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.CASCADE,
        related_name="content_trusts",
    )  # fmt: skip
    node = models.ForeignKey(
        Group, verbose_name=_("for"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("trusted since"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("trusted author")
        verbose_name_plural = _("trusted authors")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "author", "node"], condition=Q(revoked_at__isnull=True),
                name="trust_once",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.author} trusted by {self.lead} for {self.node_id}"


class Notice(models.Model):
    """Mail the workflow owes (content.notifications): to the approvers for content that
    awaits them (a submission, a revision back in review), to the author for a decision, or
    a reminder of a long wait.

    Written in the transaction of its event, so it is never lost; its task writes the mails
    (accounts.OutgoingMail, which sends each once) and `done_at` in one transaction holding
    the row, so a second delivery writes nothing. A reminder is written by beat's round and
    is its own claim: one per revision and step of its wait (`notice_reminder_once`), so two
    rounds at once remind once.
    """

    class Kind(models.TextChoices):
        AWAITING = "awaiting", _("awaiting approval")
        DECIDED = "decided", _("decided")
        REMINDER = "reminder", _("reminder")

    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="notices")
    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="notices")
    event = models.OneToOneField(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="notice"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A reminder's number in its wait: the n-th CONTENT_REMIND_AFTER since the submission.
    step = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its message was last sent to the workers (beat's round sends a lost one again).
    queued_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    mails = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "step"], condition=Q(kind="reminder"),
                name="notice_reminder_once",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(
                fields=["queued_at"], condition=Q(done_at__isnull=True), name="notice_pending"
            ),
            # The reminder round: was this revision reminded of within the last interval?
            models.Index(
                fields=["revision", "created_at"], condition=Q(kind="reminder"),
                name="notice_reminded",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.kind} {self.revision}"
