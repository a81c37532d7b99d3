"""Demo accounts: a superuser and one staff user per portal role."""

from __future__ import annotations

from typing import TextIO

from accounts.models import User

DEMO_PASSWORD = "cadre-demo-2026"  # noqa: S105 -- published on purpose, demo only

# (e-mail, full name, superuser?) -- one user per role the portal knows.
DEMO_USERS = [
    ("admin@cadreconnect.example", "Asha Admin", True),
    ("lead@cadreconnect.example", "Lalit Lead", False),
    ("approver@cadreconnect.example", "Anita Approver", False),
    ("editor@cadreconnect.example", "Esha Editor", False),
    ("viewer@cadreconnect.example", "Vikram Viewer", False),
]


def load(*, stdout: TextIO) -> list[str]:
    lines = ["", f"Demo accounts (password for all: {DEMO_PASSWORD}):"]
    for email, full_name, is_superuser in DEMO_USERS:
        user, _ = User.objects.update_or_create(
            email=email,
            defaults={
                "full_name": full_name,
                "is_staff": is_superuser,
                "is_superuser": is_superuser,
                "is_active": True,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        role = "superuser" if is_superuser else email.split("@")[0]
        lines.append(f"  {role:<10} {email}")
    return lines
