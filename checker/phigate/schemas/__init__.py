"""Bundled JSON Schemas (policy, report, snapshot, config, one per resource kind)."""
