from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    """The party's organisational tree, from national level to every polling booth."""

    name = "groups"
    label = "groups"
    verbose_name = _("Groups")

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in

        from groups import signals

        user_logged_in.connect(
            signals.delimitation_notices_show, dispatch_uid="groups-delimitation-notices"
        )
