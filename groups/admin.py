from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from mptt.admin import MPTTModelAdmin

from cadreconnect.admin_services import ThroughServicesAdmin, copy_saved_row
from cadreconnect.exceptions import ApplicationError
from groups import selectors, services
from groups.models import Assignment, Group


@admin.register(Group)
class GroupAdmin(ThroughServicesAdmin, MPTTModelAdmin):
    """Search, filter and edit nodes. Structure changes go through the same services as the
    portal (locks, audit); moves and merges are done in the portal."""

    list_display = ["name", "code", "kind_shown", "is_active", "is_generated"]
    list_filter = ["kind", "designation", "is_active", "is_generated"]
    search_fields = ["code", "name", "name_local"]
    autocomplete_fields = ["parent"]
    list_per_page = 100
    # A COUNT(*) over a million nodes on every page view is not worth it.
    show_full_result_count = False
    mptt_level_indent = 16
    fields = [
        "parent", "kind", "code", "name", "name_local", "whatsapp_invite_link",
        "telegram_chat_id", "designation", "electors", "electors_estimated", "is_generated",
        "is_active", "merged_into",
    ]  # fmt: skip
    # Set by the reference data (designation, electors) or by the portal's operations.
    readonly_fields = [
        "designation", "electors", "electors_estimated", "is_generated", "is_active",
        "merged_into",
    ]  # fmt: skip

    @admin.display(description=gettext_lazy("kind"), ordering="kind")
    def kind_shown(self, obj: Group) -> str:
        # "Union territory" where the kind alone would say "State".
        return obj.get_kind_display()

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "parent", "kind", "code"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting renumbers a whole state's tree and orphans members: deactivate instead.
        return False

    def save_model(self, request, obj: Group, form, change: bool) -> None:
        if change:
            saved = services.group_update(
                actor=request.user, group=obj, name=obj.name, name_local=obj.name_local,
                whatsapp_invite_link=obj.whatsapp_invite_link,
                telegram_chat_id=obj.telegram_chat_id,
            )  # fmt: skip
        else:
            parent = obj.parent or selectors.national_get()
            if parent is None:
                raise ApplicationError(
                    _("Load the reference tree first: there is no national node."),
                    code="no_national_node",
                )
            saved = services.group_create_child(
                actor=request.user, parent=parent, name=obj.name, code=obj.code,
                kind=obj.kind, name_local=obj.name_local,
                whatsapp_invite_link=obj.whatsapp_invite_link,
                telegram_chat_id=obj.telegram_chat_id,
            )  # fmt: skip
        copy_saved_row(saved=Group.objects.get(pk=saved.pk), into=obj)


@admin.register(Assignment)
class AssignmentAdmin(ThroughServicesAdmin):
    """Roles given, changed and taken away through groups.services, so that each is checked
    against the permission table and audited (assignment.add, assignment.remove)."""

    list_display = ["user", "role", "group", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__full_name", "group__code", "group__name"]
    autocomplete_fields = ["user", "group"]
    list_select_related = ["user", "group"]

    def save_model(self, request: HttpRequest, obj: Assignment, form, change: bool) -> None:
        if change:
            previous = Assignment.objects.select_related("group").get(pk=obj.pk)
            if (previous.user_id, previous.group_id, previous.role) == (
                obj.user_id, obj.group_id, obj.role,
            ):  # fmt: skip
                return
            services.assignment_remove(actor=request.user, assignment=previous)
        created = services.assignment_add(
            actor=request.user, user=obj.user, group=obj.group, role=obj.role
        )
        copy_saved_row(saved=created, into=obj)

    def delete_model(self, request: HttpRequest, obj: Assignment) -> None:
        services.assignment_remove(actor=request.user, assignment=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for assignment in queryset.select_related("group"):
            services.assignment_remove(actor=request.user, assignment=assignment)
