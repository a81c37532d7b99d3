from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    """Campaign material, its approval workflow and its distribution."""

    name = "content"
    verbose_name = _("Content")

    def ready(self) -> None:
        from content import receivers
        from groups import services as group_services
        from groups.delimitation import applying as delimitation

        if receivers.targets_follow_move not in group_services.MOVE_RECEIVERS:
            group_services.MOVE_RECEIVERS.append(receivers.targets_follow_move)
        if receivers.targets_follow_restructured not in delimitation.RESTRUCTURE_RECEIVERS:
            delimitation.RESTRUCTURE_RECEIVERS.append(receivers.targets_follow_restructured)
