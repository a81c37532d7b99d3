from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    """Campaign material, its approval workflow and its distribution."""

    name = "content"
    verbose_name = _("Content")
