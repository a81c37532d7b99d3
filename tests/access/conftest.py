"""The group tree and staff cast of the group tests, reused for the access matrix."""

from tests.groups.conftest import tree  # noqa: F401
