"""The group tree and staff cast of the group tests, reused for the access tests."""

from tests.groups.conftest import naveen, tree  # noqa: F401
