from django.core.management.base import BaseCommand, CommandError

from cadreconnect.exceptions import ApplicationError
from groups import loader, reference, services
from groups.models import Kind


class Command(BaseCommand):
    help = (
        "Build national > states and union territories > Lok Sabha > assembly constituencies "
        "(and, with --booths, generated booths) from the Election Commission data in "
        "groups/data/: the 2024 list, or the 2008 one with --edition 2008. Safe to re-run."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--booths",
            action="store_true",
            help="Also generate ceil(electors / 880) booths per assembly constituency.",
        )
        parser.add_argument(
            "--states",
            default="",
            help="Comma-separated state codes to load (e.g. S05,S23); default: all of them.",
        )
        parser.add_argument(
            "--edition",
            choices=sorted(reference.EDITIONS),
            default=reference.DEFAULT_EDITION,
            help=(
                "Which list: 2024 (the constituencies of the 2024 general election, 36 states "
                "and UTs, 4,123 ACs; the default) or 2008 (the 2008 delimitation as first "
                "drawn, 35, 4,120)."
            ),
        )
        parser.add_argument(
            "--no-figures", action="store_true", help="Do not recount the subtree figures."
        )

    def handle(
        self, *args, booths: bool, states: str, edition: str, no_figures: bool, **options
    ) -> None:
        state_codes = [code.strip() for code in states.split(",") if code.strip()] or None
        try:
            report = loader.reference_tree_load(
                with_booths=booths, state_codes=state_codes, edition=edition
            )
        except (ApplicationError, ValueError) as error:
            raise CommandError(str(error)) from error
        created = ", ".join(
            f"{count:,} {Kind(kind).label.lower()}"
            for kind, count in sorted(report.created.items())
        )
        self.stdout.write(
            f"The {edition} list. Created {report.created_total:,} nodes ({created or 'none'}); "
            f"{report.unchanged:,} already there; {report.trees_renumbered} trees renumbered; "
            f"{report.seconds:.1f} s."
        )
        if not no_figures and report.created_total:
            counted = services.group_figures_refresh_all()
            if counted is None:
                self.stdout.write("Another recount is running; it recounts every node once more.")
            else:
                self.stdout.write(f"Recounted the figures of {counted:,} nodes.")
