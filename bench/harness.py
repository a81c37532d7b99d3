from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    scenario: str
    case: str
    operations: int
    seconds: float
    baseline: bool = False
    note: str = ""

    @property
    def per_operation_ms(self) -> float:
        return self.seconds * 1000 / max(self.operations, 1)


@dataclass
class Bench:
    results: list[Result] = field(default_factory=list)
    scenario: str = ""

    def measure(
        self, case: str, operation: Callable[[], object], *, operations: int, note: str = ""
    ) -> Result:
        """Run `operation` `operations` times (after one warm-up call) and record the time."""
        operation()
        started = time.perf_counter()
        for _ in range(operations):
            operation()
        elapsed = time.perf_counter() - started
        return self.record(case, operations=operations, seconds=elapsed, note=note)

    def record(self, case: str, *, operations: int, seconds: float, note: str = "") -> Result:
        is_baseline = not any(result.scenario == self.scenario for result in self.results)
        result = Result(self.scenario, case, operations, seconds, is_baseline, note)
        self.results.append(result)
        return result

    def table(self) -> str:
        header = ("scenario", "case", "ops", "total s", "ms/op", "x baseline", "note")
        rows = [header]
        baselines = {r.scenario: r for r in self.results if r.baseline}
        for result in self.results:
            base = baselines[result.scenario]
            ratio = result.per_operation_ms / base.per_operation_ms if base.seconds else 0.0
            rows.append(
                (
                    result.scenario,
                    result.case + (" (baseline)" if result.baseline else ""),
                    f"{result.operations:,}",
                    f"{result.seconds:.3f}",
                    f"{result.per_operation_ms:.3f}",
                    f"{ratio:.2f}",
                    result.note,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = []
        for index, row in enumerate(rows):
            lines.append(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)


def bench_superuser(email: str):
    """The scenario's superuser, created on the first run (BENCH_KEEPDB keeps it for the next)."""
    from accounts.models import User

    return User.objects.filter(email=email).first() or User.objects.create_superuser(
        email, "bench-pass-2026"
    )
