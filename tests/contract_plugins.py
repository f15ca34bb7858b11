"""Providers and reporters a third party could ship, good and broken, for the contract tests
(registered under made-up entry points by ``tests/test_provider_contract.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any, ClassVar

from phigate.api import Option, ProviderSpec, Record, RunContext, Scope

SPEC = ProviderSpec(extra="widgets", options=(
    Option("--widgets", "widgets", kind="integer", metavar="N", help="widgets to count"),
    Option("--widget-shop", "widget_shop", repeatable=True, help="a shop to read (repeatable)"),
))


class Recording:
    """Reads nothing; keeps the context it was configured with."""

    name: ClassVar[str] = "recording"
    description: ClassVar[str] = "records how it was configured"
    permissions: ClassVar[tuple[str, ...]] = ()
    configured: ClassVar[list[RunContext]] = []

    @classmethod
    def claims(cls, target: str) -> bool:
        return False

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[Recording]:
        cls.configured.append(context)
        return [cls()]

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, "nothing")]

    def collect(self) -> Iterator[Record]:
        yield from ()


class ArgparseStyle(Recording):
    """Configured the way phigate before the run context did it."""

    @classmethod
    def configure(cls, targets: list[str], options: Any,  # type: ignore[override]
                  settings: Mapping[str, Any]) -> list[Recording]:
        return [cls()]


class HookNotCallable(Recording):
    restrict = "every attribute"


class NoCollect:
    name: ClassVar[str] = "nocollect"
    description: ClassVar[str] = "lacks collect"
    permissions: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def claims(cls, target: str) -> bool:
        return False

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[NoCollect]:
        return [cls()]

    def scopes(self) -> list[Scope]:
        return []


class ReporterWithoutRender:
    name: ClassVar[str] = "mute"

    def write(self, result: Any, out: IO[str]) -> None:
        out.write("nothing")
