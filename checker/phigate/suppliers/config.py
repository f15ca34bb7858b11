"""``portfolio.yaml``: the suppliers a customer assures, their keys, contracts and evidence age."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from phigate.problems import Problem, ProblemsError
from phigate.validation import schema_problems
from phigate.yamlsafe import load_file

DEFAULT_FILE = "portfolio.yaml"
DEFAULT_MAX_AGE = "2d"
_AGE = re.compile(r"^([1-9][0-9]*)([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Supplier:
    name: str
    keys: tuple[Path, ...]
    frameworks: tuple[str, ...]
    policies: tuple[str, ...]
    max_age: dt.timedelta
    max_age_text: str


@dataclass(frozen=True, slots=True)
class Portfolio:
    suppliers: tuple[Supplier, ...]
    source: str

    def supplier(self, name: str) -> Supplier:
        for supplier in self.suppliers:
            if supplier.name == name:
                return supplier
        known = ", ".join(s.name for s in self.suppliers)
        from phigate.api import InputError

        raise InputError(f"{self.source}: no supplier '{name}' (known: {known})")


def parse_age(text: str) -> dt.timedelta:
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not an age such as 48h, 2d or 1w")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def load_portfolio(path: Path | None) -> Portfolio:
    """Load ``path`` (default ``./portfolio.yaml``); located problems raise ``ProblemsError``."""
    path = path or Path(DEFAULT_FILE)
    name = str(path)
    if not path.is_file():
        raise ProblemsError([Problem(name, 1, 1, "no portfolio file (give --config PORTFOLIO.yaml)")])
    docs, problems = load_file(path)
    if problems:
        raise ProblemsError(problems)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise ProblemsError([Problem(name, 1, 1, "a portfolio file holds one mapping")])
    doc = docs[0]
    problems = schema_problems("portfolio", doc, name)
    if problems:
        raise ProblemsError(problems)
    suppliers, seen = [], set()
    for i, entry in enumerate(doc.data["suppliers"]):
        if entry["name"] in seen:
            line, col = doc.at(f"/suppliers/{i}/name")
            problems.append(Problem(name, line, col, f"supplier '{entry['name']}' is listed twice",
                                    f"/suppliers/{i}/name"))
            continue
        seen.add(entry["name"])
        keys = tuple(path.parent / k for k in entry.get("keys", []))
        for k, key in enumerate(keys):
            if not key.is_file():
                line, col = doc.at(f"/suppliers/{i}/keys/{k}")
                problems.append(Problem(name, line, col, f"no public key file {key}",
                                        f"/suppliers/{i}/keys/{k}"))
        age = entry.get("max_age", DEFAULT_MAX_AGE)
        suppliers.append(Supplier(entry["name"], keys, tuple(entry.get("frameworks", [])),
                                  tuple(entry.get("policies", [])), parse_age(age), age))
    if problems:
        raise ProblemsError(problems)
    return Portfolio(tuple(suppliers), name)


__all__ = ["DEFAULT_FILE", "Portfolio", "Supplier", "load_portfolio", "parse_age"]
