from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    """The cadre register: party workers, their posts, memberships and consent."""

    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from groups import services as group_services
        from groups.delimitation import applying as delimitation
        from members import figures, receivers

        if receivers.members_follow_move not in group_services.MOVE_RECEIVERS:
            group_services.MOVE_RECEIVERS.append(receivers.members_follow_move)
        if receivers.members_follow_merge not in group_services.MERGE_RECEIVERS:
            group_services.MERGE_RECEIVERS.append(receivers.members_follow_merge)
        if figures.member_figures_count not in group_services.FIGURES_RECEIVERS:
            group_services.FIGURES_RECEIVERS.append(figures.member_figures_count)
        if receivers.members_follow_trees not in delimitation.FOLLOW_RECEIVERS:
            delimitation.FOLLOW_RECEIVERS.append(receivers.members_follow_trees)
        if receivers.members_in_booths not in delimitation.COUNT_RECEIVERS:
            delimitation.COUNT_RECEIVERS.append(receivers.members_in_booths)
