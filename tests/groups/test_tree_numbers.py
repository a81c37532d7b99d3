"""The set-wise loader and rebuild number the tree exactly as django-mptt's rebuild() does;
the integrity check finds damage; migrations carry the tree's indexes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex

from groups import loader, tree
from groups.models import Group, Kind


def numbers() -> dict[str, tuple[int, int, int, int]]:
    return {
        code: (tree_id, lft, rght, level)
        for code, tree_id, lft, rght, level in Group.objects.values_list(
            "code", "tree_id", "lft", "rght", "level"
        )
    }


@pytest.mark.django_db
def test_bulk_loaded_tree_equals_mptts_rebuild():
    loader.reference_tree_load(with_booths=True, state_codes=["S05", "S23", "U06"])
    loaded = numbers()
    assert len(loaded) > 4000

    Group.objects.rebuild()

    assert numbers() == loaded


@pytest.mark.django_db
def test_tree_grown_in_steps_equals_mptts_rebuild_after_our_rebuild(asha):
    loader.reference_tree_load(with_booths=False, state_codes=["S05", "U06"])
    loader.reference_tree_load(with_booths=True, state_codes=["U06"])
    tree.rebuild_trees()
    ours = numbers()

    Group.objects.rebuild()

    assert numbers() == ours


@pytest.mark.django_db
def test_rebuild_command_repairs_damaged_numbers_and_check_finds_the_damage():
    loader.reference_tree_load(with_booths=True, state_codes=["U06"])
    sound = numbers()
    Group.objects.filter(code="U06-AC-001-B-0001").update(lft=999, rght=3)
    Group.objects.filter(code="U06-PC-01").update(level=7)

    errors = StringIO()
    with pytest.raises(CommandError, match="kinds of problem found"):
        call_command("groups_check", stderr=errors)
    assert "lft is not below rght" in errors.getvalue()
    assert "outside their parent's range" in errors.getvalue()

    dry = StringIO()
    call_command("groups_rebuild", "--dry-run", stdout=dry)
    assert "2 rows would change" in dry.getvalue()
    assert numbers() != sound

    out = StringIO()
    call_command("groups_rebuild", stdout=out)

    assert "2 rows changed" in out.getvalue()
    assert numbers() == sound
    call_command("groups_check", stdout=StringIO())


@pytest.mark.django_db
def test_check_finds_a_kind_order_violation():
    loader.reference_tree_load(with_booths=False, state_codes=["U06"])
    Group.objects.filter(code="U06-PC-01").update(kind=Kind.STATE)

    problems = tree.check_integrity()

    assert [problem.description for problem in problems] == [
        "children whose kind is not deeper than their parent's"
    ]


def test_migrations_declare_the_tree_indexes():
    migration_loader = MigrationLoader(None, ignore_no_migrations=True)
    declared = {
        tuple(operation.index.fields)
        for (app, _name), migration in migration_loader.disk_migrations.items()
        if app == "groups"
        for operation in migration.operations
        if isinstance(operation, AddIndex) and operation.model_name == "group"
    }

    assert {("tree_id", "lft"), ("tree_id", "rght"), ("level",), ("kind",)} <= declared


@pytest.mark.django_db
def test_database_has_the_tree_indexes():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "groups_group")
    indexed = {tuple(info["columns"]) for info in constraints.values() if info["index"]}

    assert {("tree_id", "lft"), ("tree_id", "rght"), ("level",), ("kind",)} <= indexed
