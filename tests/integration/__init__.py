"""Integration tests (a package, so that their module names may repeat those of tests/unit)."""
