import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cadreconnect.exceptions import ApplicationError
from groups import services
from groups.delimitation import MappingRefused, Outcome, delimitation_apply, delimitation_dry_run


class Command(BaseCommand):
    help = (
        "Apply a delimitation: a mapping from old to new constituencies and booths (CSV with "
        "the header action,old_code,new_code,above,kind,name,name_local,electors[,designation,"
        "electors_estimated]; see "
        "groups/delimitation/__init__.py). One step per state, each in one transaction; run it "
        "again with the same file after an interruption and it goes on where it stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; write nothing."
        )
        parser.add_argument(
            "--no-figures", action="store_true", help="Leave the figures' recount to a worker."
        )

    def handle(self, *args, file: str, dry_run: bool, no_figures: bool, **options) -> None:
        data = self._read(file)
        name = os.path.basename(file)
        started = time.monotonic()
        try:
            if dry_run:
                outcome = delimitation_dry_run(actor=None, data=data, file_name=name)
            else:
                outcome = delimitation_apply(
                    actor=None, data=data, file_name=name, on_step=self._print_step
                )
        except MappingRefused as refused:
            for line, problem in refused.problems:
                self.stderr.write(f"line {line}: {problem}" if line else problem)
            raise CommandError(
                f"The mapping was refused ({len(refused.problems)} problems); nothing was changed."
            ) from refused
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if dry_run:
            self._print_dry_run(outcome)
            return
        self._print_end(outcome, seconds=time.monotonic() - started)
        if outcome.steps and not no_figures:
            counted = services.group_figures_refresh_stale()
            if counted is None:
                self.stdout.write("Another recount is running; it recounts the changed trees.")
            else:
                self.stdout.write(f"Recounted the figures of {counted:,} nodes.")

    def _read(self, file: str) -> bytes:
        try:
            size = os.path.getsize(file)
            if size > settings.GROUP_DELIMIT_MAX_BYTES:
                raise CommandError(
                    f"{file} is {size:,} bytes; a mapping may be at most "
                    f"{settings.GROUP_DELIMIT_MAX_BYTES:,} bytes (GROUP_DELIMIT_MAX_BYTES)."
                )
            with open(file, "rb") as source:
                return source.read(settings.GROUP_DELIMIT_MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error

    def _print_step(self, report: dict) -> None:
        self.stdout.write(f"Step {report['step']} applied: {', '.join(report['states'])}.")
        for state in report["by_state"]:
            self._print_state(state, verbose=False)

    def _print_dry_run(self, outcome: Outcome) -> None:
        if outcome.resumed:
            self.stdout.write(
                f"This file's delimitation is unfinished: {outcome.already_applied} steps are "
                f"applied; running it again would apply the rest:"
            )
        for report in outcome.steps:
            self.stdout.write(f"Step {report['step']}: {', '.join(report['states'])}")
            for state in report["by_state"]:
                self._print_state(state, verbose=True)
        if outcome.failure:
            self.stderr.write(f"The next step would fail: {outcome.failure}")
        self.stdout.write("Dry run: nothing was written.")
        if outcome.failure:
            raise CommandError("The mapping cannot be applied as it is.")

    def _print_state(self, state: dict, *, verbose: bool) -> None:
        title = f"{state['code']} {state['name']}".strip()
        parts = []
        if state["created"]:
            parts.append("created " + _kinds(state["created"]))
        for key, label in (("moved", "moved"), ("merged", "merged into another node"),
                           ("recoded", "new codes"),
                           ("booths_recoded", "booths following their constituency"),
                           ("renamed", "renamed")):  # fmt: skip
            if state.get(key):
                parts.append(f"{label} {state[key]:,}")
        if state["retired"]:
            parts.append("retired " + _kinds(state["retired"]))
        if state["booths_to_place"]:
            parts.append(
                f"booths to place {state['booths_to_place']:,} "
                f"(members waiting {state['members_to_place']:,})"
            )
        if state["members_moved"]:
            parts.append(f"members moved with their booths {state['members_moved']:,}")
        self.stdout.write(f"  {title}: {'; '.join(parts) or 'nothing changes'}")
        if not verbose:
            return
        for old, new in state["codes"]:
            self.stdout.write(f"    {old} -> {new}")
        for old, new, count in state["booth_codes"]:
            self.stdout.write(f"    {old} -> {new} ({count:,} booths)")
        for old, into, count in state.get("merges", []):
            self.stdout.write(f"    {old} merged into {into} ({count:,} booths)")

    def _print_end(self, outcome: Outcome, *, seconds: float) -> None:
        delimitation = outcome.delimitation
        if outcome.finished_before:
            self.stdout.write(
                f"This mapping was applied already ({delimitation.finished_at:%Y-%m-%d %H:%M}); "
                "nothing changed."
            )
            return
        resumed = (
            f" (resumed: {outcome.already_applied} steps were applied before)"
            if outcome.resumed
            else ""
        )
        self.stdout.write(
            f"Applied {len(outcome.steps)} steps of {delimitation.steps_total}{resumed} "
            f"in {seconds:.1f} s."
        )


def _kinds(counts: dict) -> str:
    return ", ".join(f"{count:,} {kind}" for kind, count in sorted(counts.items()))
