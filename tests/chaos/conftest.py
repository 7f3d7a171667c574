"""The chaos suite starts local stacks as the end-to-end tests do (tests/e2e/conftest.py)."""

from tests.e2e.conftest import (  # noqa: F401 - fixtures and the report hook, re-exported
    LocalStack,
    pytest_runtest_makereport,
    stack,
    start_stack,
)
