from django.core.management.base import BaseCommand

from groups import tree


class Command(BaseCommand):
    help = (
        "Recompute the nested-set columns of every tree from the parent links, set-wise, and "
        "write only the rows that differ. Use this, never mptt's rebuild(), on a large table."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the rows that would change."
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        report = tree.rebuild_trees(dry_run=dry_run)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{report.trees} trees, {report.nodes:,} nodes: {report.changed:,} rows {verb}."
        )
