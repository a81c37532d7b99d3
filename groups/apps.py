from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GroupsConfig(AppConfig):
    """The party's organisational tree, from national level to every polling booth."""

    name = "groups"
    label = "groups"
    verbose_name = _("Groups")
