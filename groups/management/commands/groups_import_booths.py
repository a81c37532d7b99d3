import argparse

from django.core.management.base import BaseCommand, CommandError

from groups import loader


class Command(BaseCommand):
    help = (
        "Place a real booth list in the tree. CSV with the header "
        "state_code,ac_number,booth_number,name (UTF-8). Rows that cannot be placed are "
        "reported with their line numbers; the others land together."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=argparse.FileType("r", encoding="utf-8-sig"))
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )

    def handle(self, *args, file, dry_run: bool, **options) -> None:
        with file:
            try:
                report = loader.booths_import(source=file, dry_run=dry_run)
            except loader.BoothFileError as error:
                raise CommandError(str(error)) from error
        for line, problem in report.problems:
            self.stderr.write(f"line {line}: {problem}")
        verb = "Would place" if dry_run else "Placed"
        self.stdout.write(
            f"{verb} {report.placed:,} of {report.rows:,} rows ({report.created:,} new booths, "
            f"{report.updated:,} updated); {len(report.problems):,} rows could not be placed; "
            f"{report.generated_retired:,} generated booths retired."
        )
