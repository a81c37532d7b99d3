"""Content in the admin: read only. Every change goes through content.services (the admin's
own actions, calling those services, come with the pages)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from cadreconnect.admin_services import ReadOnlyAdmin
from content.models import Content, Decision, Event, Revision, Target, TrustedAuthor, Variant


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RevisionInline(ReadOnlyInline):
    model = Revision
    fields = ["number", "created_by", "created_at", "submitted_at"]
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = Event
    fields = ["created_at", "actor", "kind", "from_state", "to_state", "revision", "comment"]
    readonly_fields = fields


@admin.register(Content)
class ContentAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "state", "author", "priority", "submitted_at", "send_at",
                    "expires_at"]  # fmt: skip
    list_filter = ["state", "kind", "priority"]
    search_fields = ["title"]
    list_select_related = ["author"]
    raw_id_fields = ["author", "current_revision", "submitted_revision"]
    inlines = [RevisionInline, EventInline]


class VariantInline(ReadOnlyInline):
    model = Variant
    fields = ["language", "is_default", "body", "media", "media_type", "media_size",
              "media_caption"]  # fmt: skip
    readonly_fields = fields


class TargetInline(ReadOnlyInline):
    model = Target
    fields = ["group", "post", "approval"]
    readonly_fields = fields


class DecisionInline(ReadOnlyInline):
    model = Decision
    fields = ["created_at", "approver", "node", "decision", "comment", "trust"]
    readonly_fields = fields


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "content", "number", "created_at", "submitted_at"]
    list_select_related = ["content"]
    search_fields = ["content__title"]
    raw_id_fields = ["content", "created_by"]
    inlines = [VariantInline, TargetInline, DecisionInline]


@admin.register(TrustedAuthor)
class TrustedAuthorAdmin(ReadOnlyAdmin):
    list_display = ["author", "lead", "node", "created_at", "revoked_at"]
    list_select_related = ["author", "lead", "node"]
    raw_id_fields = ["author", "lead", "node"]
