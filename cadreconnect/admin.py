from django.contrib import admin

from cadreconnect.models import WorkerPing


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
