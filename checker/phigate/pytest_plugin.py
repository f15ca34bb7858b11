"""pytest plugin: compliance policies as tests (see docs/pytest.md)."""
