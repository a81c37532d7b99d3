"""The register in the admin: every change goes through members.services, with the same checks
and audit events as the portal's pages (cadreconnect.admin_services)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Max, Min
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cadreconnect.admin_services import ReadOnlyAdmin, ThroughServicesAdmin, copy_saved_row
from cadreconnect.exceptions import ApplicationError
from cadreconnect.privacy import redact
from members import services
from members.models import Consent, Member, MemberImport, MemberImportBatch, Membership, Post, Tag


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    readonly_fields = ["purpose", "source", "notice_version", "granted_at", "withdrawn_at",
                       "recorded_by"]  # fmt: skip
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["group", "role", "joined_on"]
    readonly_fields = ["joined_on"]
    autocomplete_fields = ["group"]


class PostInline(admin.TabularInline):
    """Posts are a member's history: a term is ended (its end date), never deleted."""

    model = Post
    extra = 0
    fields = ["group", "office", "title", "starts_on", "ends_on"]
    autocomplete_fields = ["group"]
    can_delete = False


@admin.register(Member)
class MemberAdmin(ThroughServicesAdmin):
    list_display = ["full_name", "masked_phone", "booth", "status", "joined_on"]
    list_filter = ["status", "gender"]
    search_fields = ["full_name", "name_local", "phone", "epic"]
    autocomplete_fields = ["booth", "recruited_by", "tags"]
    list_select_related = ["booth"]
    # What members.services.member_create and member_update change, and the tags; the rest
    # (verification, the booth's tree and state) is set by its own flow.
    fields = [*services.EDITABLE_FIELDS, "tags", "phone_verified_at", "epic_checked_at",
              "tree_id", "state", "created_at", "updated_at"]  # fmt: skip
    readonly_fields = ["phone_verified_at", "epic_checked_at", "tree_id", "state", "created_at",
                       "updated_at"]  # fmt: skip
    show_full_result_count = False
    inlines = [MembershipInline, PostInline, ConsentInline]

    @admin.display(description=_("phone"))
    def masked_phone(self, member: Member) -> str:
        from cadreconnect.privacy import mask_phone

        return mask_phone(member.phone)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # A member record is folded into another (the duplicates page's merge, audited), never
        # deleted here without a trace.
        return False

    def save_model(self, request: HttpRequest, obj: Member, form, change: bool) -> None:
        fields = {name: form.cleaned_data.get(name) for name in services.EDITABLE_FIELDS}
        # Empty text fields come as "", empty numbers and links as None: the services' forms.
        if change:
            current = Member.objects.select_related("booth").get(pk=obj.pk)
            saved = services.member_update(actor=request.user, member=current, **fields)
        else:
            saved = services.member_create(actor=request.user, **fields)
        copy_saved_row(saved=saved, into=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        # The admin's change message reads what a formset saved from these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        member: Member = form.instance
        if formset.model is Membership:
            self._save_memberships(request, member, formset)
        elif formset.model is Post:
            self._save_posts(request, member, formset)
        else:
            super().save_formset(request, form, formset, change)

    def _save_memberships(self, request: HttpRequest, member: Member, formset) -> None:
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                membership = Membership.objects.select_related("group", "member__booth").get(
                    pk=deleted.instance.pk
                )
                services.membership_remove(actor=request.user, membership=membership)
                formset.deleted_objects.append(membership)
        for inline in formset.forms:
            if inline in formset.deleted_forms or not inline.has_changed():
                continue
            group, role = inline.cleaned_data["group"], inline.cleaned_data["role"]
            existing = inline.instance.pk is not None
            if existing and "group" in inline.changed_data:
                previous = Membership.objects.select_related("group", "member__booth").get(
                    pk=inline.instance.pk
                )
                services.membership_remove(actor=request.user, membership=previous)
            saved = services.membership_add(
                actor=request.user, member=member, group=group, role=role
            )
            copy_saved_row(saved=saved, into=inline.instance)
            if existing:
                formset.changed_objects.append((inline.instance, inline.changed_data))
            else:
                formset.new_objects.append(inline.instance)

    def _save_posts(self, request: HttpRequest, member: Member, formset) -> None:
        for inline in formset.forms:
            if not inline.has_changed():
                continue
            data = inline.cleaned_data
            existing = inline.instance.pk is not None
            if not existing:
                post = services.post_assign(
                    actor=request.user, member=member, group=data["group"],
                    office=data["office"], starts_on=data["starts_on"], title=data["title"],
                )  # fmt: skip
            else:
                post = Post.objects.select_related("member__booth").get(pk=inline.instance.pk)
                # Compared with the row, not the form's initial values (a field with a callable
                # default compares with a hidden copy of its initial value, which may be absent).
                kept = ["group", "office", "title", "starts_on"]
                if any(data[name] != getattr(post, name) for name in kept):
                    raise ApplicationError(
                        _(
                            "A post's office, group, title and start stay as they were: end "
                            "the term and add the new post."
                        ),
                        code="post_unchangeable",
                    )
            if data.get("ends_on") and data["ends_on"] != post.ends_on:
                post = services.post_end(actor=request.user, post=post, ends_on=data["ends_on"])
            elif post.ends_on and not data.get("ends_on"):
                raise ApplicationError(
                    _("An ended term cannot be reopened: add the post again."),
                    code="post_reopen",
                )
            copy_saved_row(saved=post, into=inline.instance)
            if existing:
                formset.changed_objects.append((inline.instance, inline.changed_data))
            else:
                formset.new_objects.append(inline.instance)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class ImportOverseerAdmin(ReadOnlyAdmin):
    """Imports as the admin shows them: read by whoever oversees every import (a lead at the
    national node, a superuser: members.services.imports_overseen_by), changed by nobody. A
    run is stopped from the portal's page of imports in progress, through the service."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and services.imports_overseen_by(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(MemberImport)
class MemberImportAdmin(ImportOverseerAdmin):
    """The file itself, its first rows and its headers hold members' phones and stay out of
    the admin; the problems show by row, column and code, without the messages (which repeat
    what was typed)."""

    list_display = ["file_name", "status", "created_by", "created_at", "progress",
                    "created_count", "updated_count", "skipped_count", "rejected_count",
                    "heartbeat_at", "resumes"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["original_name"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["file_name", "file_kind", "created_by", "created_at", "status", "shown_error",
              "error_code", "policy", "notice_version", "default_booth", "checked_at", "progress",
              "created_count", "updated_count", "skipped_count", "rejected_count",
              "warning_count", "problem_rows", "started_at", "queued_at", "heartbeat_at",
              "run_token", "resumes", "batch_size", "batches_written", "finished_at"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=gettext_lazy("file"), ordering="original_name")
    def file_name(self, member_import: MemberImport) -> str:
        return redact(member_import.original_name)

    @admin.display(description=gettext_lazy("error"))
    def shown_error(self, member_import: MemberImport) -> str:
        return redact(member_import.error)

    @admin.display(description=gettext_lazy("rows processed"))
    def progress(self, member_import: MemberImport) -> str:
        return _("%(done)s of %(total)s (%(percent)s%%)") % {
            "done": member_import.rows_processed, "total": member_import.rows_total or "?",
            "percent": member_import.percent,
        }  # fmt: skip

    @admin.display(description=gettext_lazy("problems (row, column, code)"))
    def problem_rows(self, member_import: MemberImport) -> str:
        problems = [problem for problem in member_import.problems if isinstance(problem, dict)]
        return format_html_join(
            mark_safe("<br>"), "{}, {}: {}",
            ((problem.get("row", ""), problem.get("column", ""), problem.get("code", ""))
             for problem in problems[:50]),
        ) or "-"  # fmt: skip

    @admin.display(description=gettext_lazy("batches written"))
    def batches_written(self, member_import: MemberImport) -> str:
        ledger = member_import.batches.aggregate(
            count=Count("pk"), first=Min("first_line"), last=Max("last_line"),
            latest=Max("written_at"),
        )  # fmt: skip
        if not ledger["count"]:
            return "-"
        url = reverse("admin:members_memberimportbatch_changelist")
        return format_html(
            '{} <a href="{}?member_import__id__exact={}">{}</a>',
            _("%(count)s, rows %(first)s to %(last)s, the last at %(latest)s;") % {
                **ledger, "latest": localize(timezone.localtime(ledger["latest"])),
            },
            url, member_import.pk, _("See them"),
        )  # fmt: skip


@admin.register(MemberImportBatch)
class MemberImportBatchAdmin(ImportOverseerAdmin):
    """An import's ledger (the batches it wrote), reached from the import's page: an import
    of millions of rows has thousands of batches, too many for an inline."""

    list_display = ["import_file", "first_line", "last_line", "written_at"]
    list_select_related = ["member_import"]
    ordering = ["member_import", "first_line"]  # the ledger's unique index
    show_full_result_count = False
    fields = ["import_file", "first_line", "last_line", "written_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("member import"))
    def import_file(self, batch: MemberImportBatch) -> str:
        url = reverse("admin:members_memberimport_change", args=[batch.member_import_id])
        return format_html('<a href="{}">{}</a>', url, redact(batch.member_import.original_name))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # not in the admin's index: each import links to its batches
