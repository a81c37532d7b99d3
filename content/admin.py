"""Content in the admin: read only, with the actions of the content page (approve, request
changes, reject, withdraw) calling the same services: the same checks, the same events. A
decision other than an approval, and a withdrawal, asks for its comment on a page of its own
first (as the delete action asks for a confirmation)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cadreconnect.admin_services import ReadOnlyAdmin
from cadreconnect.exceptions import ApplicationError
from content import services
from content.models import (
    Content,
    Decision,
    Event,
    Notice,
    Revision,
    Target,
    TrustedAuthor,
    Variant,
)


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Comment"), max_length=services.MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )  # fmt: skip


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
    actions = ["approve", "request_changes", "reject", "withdraw"]

    @admin.action(description=gettext_lazy("Approve the selected content"))
    def approve(self, request: HttpRequest, queryset):
        return self._act(request, queryset, "approve", Decision.Verdict.APPROVE)

    @admin.action(description=gettext_lazy("Request changes to the selected content"))
    def request_changes(self, request: HttpRequest, queryset):
        return self._act(request, queryset, "request_changes", Decision.Verdict.REQUEST_CHANGES)

    @admin.action(description=gettext_lazy("Reject the selected content"))
    def reject(self, request: HttpRequest, queryset):
        return self._act(request, queryset, "reject", Decision.Verdict.REJECT)

    @admin.action(description=gettext_lazy("Withdraw the selected content"))
    def withdraw(self, request: HttpRequest, queryset):
        return self._act(request, queryset, "withdraw", None)

    def _act(
        self, request: HttpRequest, queryset, action: str, decision: str | None
    ) -> HttpResponse | None:
        """Each selected content through its service, one by one: a refusal of one is shown
        and does not undo the others (each service is its own transaction)."""
        needs_comment = decision != Decision.Verdict.APPROVE
        form = CommentForm(request.POST if "apply" in request.POST else None)
        if needs_comment and not form.is_valid():
            return TemplateResponse(request, "admin/content/content/comment.html", {
                **self.admin_site.each_context(request),
                "title": self.get_actions(request)[action][2],
                "action": action, "queryset": queryset, "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            })  # fmt: skip
        comment = form.cleaned_data["comment"] if needs_comment else ""
        done = 0
        for content in queryset:
            try:
                if decision is None:
                    services.content_withdraw(actor=request.user, content=content, reason=comment)
                else:
                    services.content_decide(
                        actor=request.user, content=content, decision=decision, comment=comment
                    )
            except (ApplicationError, services.OutsideArea) as refusal:
                message = getattr(refusal, "message", "") or _("No such content.")
                self.message_user(request, f"{content.title}: {message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, _("Done for %(count)s content.") % {"count": done}, messages.SUCCESS
            )
        return None


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


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The mail the workflow owed and whether its task wrote it (read only: the task and
    beat's round own these rows)."""

    list_display = ["id", "content", "kind", "step", "created_at", "queued_at", "done_at", "mails"]
    list_filter = ["kind"]
    list_select_related = ["content"]
    raw_id_fields = ["content", "revision", "event"]
