from django.core.management.base import BaseCommand

from groups import reference


class Command(BaseCommand):
    help = (
        "Write the delimitation mapping from the 2008 list to the 2024 one (for groups_delimit), "
        "generated from the two lists in groups/data/, to groups/data/delimitation-2008-2024.csv "
        "or, with --stdout, to the standard output."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--stdout", action="store_true", help="Print it instead.")

    def handle(self, *args, stdout: bool, **options) -> None:
        text = reference.mapping_2008_2024_csv()
        if stdout:
            self.stdout.write(text, ending="")
            return
        reference.MAPPING_2008_2024_CSV.write_text(text, encoding="utf-8")
        self.stdout.write(
            f"Wrote {text.count(chr(10)) - 1:,} rows to {reference.MAPPING_2008_2024_CSV}."
        )
