"""REST API of the group tree (the member app and integrations). Scoped like the pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.utils.decorators import method_decorator
from rest_framework import generics, serializers

from groups import selectors
from groups.models import Group


class GroupSerializer(serializers.ModelSerializer):
    # "Union territory" for a UT (kind stays 20, the state level), as on the pages.
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    parent_code = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = [
            "id", "code", "name", "name_local", "kind", "kind_label", "designation",
            "parent_code", "whatsapp_invite_link", "telegram_chat_id", "is_active",
            "is_generated", "electors", "electors_estimated",
        ]  # fmt: skip
        read_only_fields = fields

    def get_parent_code(self, group: Group) -> str | None:
        """The code of the node above (for an assembly constituency: its upper node)."""
        above = group.parent if group.parent_id else group.upper if group.upper_id else None
        return above.code if above else None


# DRF answers for itself (401/403 in JSON) instead of the portal's redirect to the sign-in page.
@method_decorator(login_not_required, name="dispatch")
class GroupList(generics.ListAPIView):
    """Groups in the user's scope; ?q= searches names and codes."""

    serializer_class = GroupSerializer

    def get_queryset(self):
        query = self.request.query_params.get("q", "")
        if query:
            return selectors.groups_search(user=self.request.user, query=query, limit=200)
        return (
            selectors.groups_visible_to(self.request.user)
            .select_related("parent", "upper")
            .order_by("tree_id", "lft")
        )


@method_decorator(login_not_required, name="dispatch")
class GroupDetail(generics.RetrieveAPIView):
    serializer_class = GroupSerializer

    def get_object(self) -> Group:
        return selectors.group_get_for_user(user=self.request.user, pk=self.kwargs["pk"])


@method_decorator(login_not_required, name="dispatch")
class GroupChildren(generics.ListAPIView):
    serializer_class = GroupSerializer

    def get_queryset(self):
        group = selectors.group_get_for_user(user=self.request.user, pk=self.kwargs["pk"])
        return selectors.group_children(user=self.request.user, group=group).select_related(
            "parent", "upper"
        )
