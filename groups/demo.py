"""Demo tree: the real states, union territories and constituencies (the 2024 list), generated
booths of Goa and Tripura, two districts in Goa, and staff assigned at national, state and
district level."""

from __future__ import annotations

from typing import TextIO

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from groups import loader, reference, selectors, services
from groups.models import Group, Kind, Role

BOOTH_STATES = ["S05", "S23"]  # Goa (about 1,300 booths) and Tripura (about 2,900)
GOA_DISTRICTS = [
    ("S05-D-01", "North Goa district", "उत्तर गोवा ज़िला", "S05-PC-01"),
    ("S05-D-02", "South Goa district", "दक्षिण गोवा ज़िला", "S05-PC-02"),
]

STAFF = [
    # (email, full name, role, group code)
    ("lead@cadreconnect.example", None, Role.LEAD, "IN"),
    ("approver@cadreconnect.example", None, Role.APPROVER, "IN"),
    ("editor@cadreconnect.example", None, Role.EDITOR, "IN"),
    ("viewer@cadreconnect.example", None, Role.VIEWER, "IN"),
    ("goa.lead@cadreconnect.example", "Gita Goa Lead", Role.LEAD, "S05"),
    ("northgoa.lead@cadreconnect.example", "Naveen North Goa Lead", Role.LEAD, "S05-D-01"),
    ("tripura.viewer@cadreconnect.example", "Tara Tripura Viewer", Role.VIEWER, "S23"),
]


def load(*, stdout: TextIO) -> list[str]:
    loader.reference_tree_load(with_booths=False)
    booths_report = loader.reference_tree_load(with_booths=True, state_codes=BOOTH_STATES)
    admin = User.objects.get(email="admin@cadreconnect.example")
    national = selectors.national_get()
    goa = Group.objects.get(code="S05")
    for code, name, name_local, pc_code in GOA_DISTRICTS:
        district = Group.objects.filter(code=code).first() or services.group_create_child(
            actor=admin, parent=goa, name=name, name_local=name_local, code=code,
            kind=Kind.DISTRICT,
        )  # fmt: skip
        pc = Group.objects.get(code=pc_code)
        if pc.parent_id != district.pk:
            services.group_move(actor=admin, group=pc, new_parent=district)
    lines = ["", "Demo staff (same password) and where they are assigned:"]
    for email, full_name, role, code in STAFF:
        user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name or ""})
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        group = Group.objects.get(code=code)
        services.assignment_add(actor=None, user=user, group=group, role=role)
        lines.append(f"  {role:<9} {email:<40} {group.name} ({code})")
    counted = services.group_figures_refresh_all()
    lines.append(
        f"Group tree ({reference.DEFAULT_EDITION} list): {Group.objects.count():,} nodes "
        f"({booths_report.created.get(Kind.BOOTH, 0):,} booths added now), "
        f"{counted or 0:,} counted; national node {national.code if national else '-'}."
    )
    return lines
