from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CadreConnectConfig(AppConfig):
    """The project's own app: system status (health, worker pings) and the dashboard shell."""

    name = "cadreconnect"
    verbose_name = _("System")

    def ready(self) -> None:
        from cadreconnect import checks  # noqa: F401  (registers the system checks)
