from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    """The cadre register: party workers, their posts, memberships and consent."""

    name = "members"
    verbose_name = _("Members")
