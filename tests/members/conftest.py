"""The group tree and staff cast of the group tests, reused for the register."""

from tests.groups.conftest import gopal, naveen, nita, nobody, sita, tree, vikram  # noqa: F401
