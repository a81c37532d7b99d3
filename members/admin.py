from django.contrib import admin

from members.models import Consent, Member, Membership, Post, Tag


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
    autocomplete_fields = ["group"]


class PostInline(admin.TabularInline):
    model = Post
    extra = 0
    autocomplete_fields = ["group"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["full_name", "phone", "booth", "status", "joined_on"]
    list_filter = ["status", "gender"]
    search_fields = ["full_name", "name_local", "phone", "epic"]
    autocomplete_fields = ["booth", "recruited_by", "tags"]
    list_select_related = ["booth"]
    readonly_fields = ["tree_id", "state", "created_at", "updated_at"]
    show_full_result_count = False
    inlines = [MembershipInline, PostInline, ConsentInline]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
