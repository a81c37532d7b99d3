from django.contrib import admin

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
