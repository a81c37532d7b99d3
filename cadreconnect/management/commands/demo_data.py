"""Load the demo data `make run` serves: each app adds its part in a `demo.py` module.

An app's `demo.load(*, stdout) -> list[str]` creates or refreshes its demo rows (running the
command twice changes nothing but passwords back to the printed ones) and returns lines to
print. Apps load in INSTALLED_APPS order, so later apps can build on earlier ones' rows.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create or refresh the demo users and data, and print the demo credentials."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even with DEBUG off. Demo accounts have published passwords: never on a "
            "server that real people use.",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: the demo accounts have published "
                "passwords. Use --allow-production only on a throwaway server."
            )
        lines: list[str] = []
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                module_name = f"{app_config.name}.demo"
                if find_spec(module_name) is None:
                    continue
                lines.extend(import_module(module_name).load(stdout=self.stdout))
        for line in lines:
            self.stdout.write(line)
