from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.utils.translation import gettext_lazy as _

from cadreconnect.models import AuditEvent, WorkerPing


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "source",
        "requested_by",
        "requested_at",
        "answered_at",
        "worker_hostname",
    ]
    list_filter = ["source"]
    list_select_related = ["requested_by"]
    readonly_fields = [field.name for field in WorkerPing._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_repr"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_repr", "target_id", "actor__email"]
    list_select_related = ["actor"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    """What was done in the admin, by whom: readable by superusers, changed by nobody. Entries
    name members by their masked phone (Member.__str__) and changes by field name only."""

    list_display = ["action_time", "user", "content_type", "object_repr", "action_flag",
                    "change_summary"]  # fmt: skip
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "object_id", "user__email"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    fields = ["action_time", "user", "content_type", "object_id", "object_repr", "action_flag",
              "change_summary"]  # fmt: skip
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("change"))
    def change_summary(self, entry: LogEntry) -> str:
        return entry.get_change_message()

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
