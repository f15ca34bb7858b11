"""The common part of providers a program builds around what it already holds (records in
memory, the run's own providers), never chosen on the command line or in a config file."""

from __future__ import annotations

from typing import ClassVar

from phigate.api import InputError, Provider, RunContext


class CodeProvider:
    """No options, claims no target, and cannot be configured: there is nothing to configure
    it from. ``made_by`` names what builds it, for the refusal's message."""

    name: ClassVar[str]
    made_by: ClassVar[str]

    @classmethod
    def claims(cls, target: str) -> bool:
        return False

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[Provider]:
        raise InputError(f"the {cls.name} provider is made by {cls.made_by}, not configured")


__all__ = ["CodeProvider"]
