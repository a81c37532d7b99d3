"""Which real services this test run has, and what to do when one is missing.

Locally a test that needs Chromium (say) is skipped when it is not installed. In CI (CI=true)
the same test fails instead: CI must run every test on the production stack.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def require(available: bool, reason: str) -> None:
    """Skip the calling test when a service is missing; in CI, fail it."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI must not skip this test: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_available() -> bool:
    return CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is not None
