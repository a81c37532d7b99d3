from django.core.management.base import BaseCommand, CommandError

from groups import tree


class Command(BaseCommand):
    help = "Check the nested-set columns of the group tree; exits non-zero on any problem."

    def handle(self, *args, **options) -> None:
        problems = tree.check_integrity()
        if not problems:
            self.stdout.write("The group tree is sound.")
            return
        for problem in problems:
            ids = ", ".join(str(node_id) for node_id in problem.example_ids)
            self.stderr.write(f"{problem.count:,} {problem.description} (e.g. ids {ids})")
        raise CommandError(
            f"{len(problems)} kinds of problem found; `manage.py groups_rebuild` renumbers the "
            "trees from their parent links."
        )
