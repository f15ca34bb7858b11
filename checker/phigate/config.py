"""The project configuration file (``phigate.yaml``): classification, policy settings, providers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.problems import Problem, ProblemsError
from phigate.validation import schema_problems
from phigate.yamlsafe import Located, load_file

DEFAULT_FILE = "phigate.yaml"
DEFAULT_KEYS = ("data_class",)
DEFAULT_VALUES: Mapping[str, tuple[str, ...]] = {
    "clinical": ("clinical", "clinical_notes", "phi", "health"),
    "administrative": ("administrative", "admin", "pii"),
    "public": ("public",),
}


@dataclass(frozen=True, slots=True)
class NameRule:
    pattern: re.Pattern[str]
    data_class: str
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PolicySettings:
    #: ``False`` leaves the policy out; ``True`` also runs an opt-in policy; ``None`` (not set):
    #: the policy's own default (on, unless it is opt-in).
    enabled: bool | None = None
    severity: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Where each param override was written, for precise messages.
    param_locations: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: Where the policy's settings start in the config file.
    location: tuple[int, int] = (1, 1)


@dataclass(frozen=True, slots=True)
class Config:
    classification_keys: tuple[str, ...] = DEFAULT_KEYS
    classification_values: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_VALUES))
    name_rules: tuple[NameRule, ...] = ()
    policies: Mapping[str, PolicySettings] = field(default_factory=dict)
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fail_on: str | None = None
    #: The waiver file, relative paths taken from the config file's folder.
    waivers: Path | None = None
    source: str | None = None
    #: Things the file does that are allowed but probably not meant (printed as warnings).
    warnings: tuple[str, ...] = ()

    def policy(self, policy_id: str) -> PolicySettings:
        return self.policies.get(policy_id, PolicySettings())


def load_config(path: Path | None) -> Config:
    """Load ``path``, or ``./phigate.yaml`` when it exists, or the defaults. Raises ProblemsError."""
    if path is None:
        default = Path(DEFAULT_FILE)
        if not default.is_file():
            return Config()
        path = default
    docs, problems = load_file(path)
    if problems:
        raise ProblemsError(problems)
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise ProblemsError([Problem(str(path), 1, 1, "a config file holds one mapping")])
    doc = docs[0]
    problems = schema_problems("config", doc, str(path))
    if problems:
        raise ProblemsError(problems)
    return _build(doc, str(path))


def _classification_values(classification: Mapping[str, Any], file: str
                           ) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The value table: the configured values added to the defaults (``extend: true``, the
    default), or replacing them, with a warning for every default value dropped."""
    configured = {k: tuple(v) for k, v in classification.get("values", {}).items()}
    if classification.get("extend", True):
        merged = {k: tuple(dict.fromkeys((*DEFAULT_VALUES.get(k, ()), *configured.get(k, ()))))
                  for k in {*DEFAULT_VALUES, *configured}}
        return merged, ()
    kept = {v.lower() for values in configured.values() for v in values}
    dropped = [f"{v} ({k})" for k, values in DEFAULT_VALUES.items() for v in values if v not in kept]
    warnings = ((f"{file}: classification.extend is false and drops the default values "
                 f"{', '.join(dropped)}: resources tagged so become unclassified",) if dropped else ())
    return configured, warnings


def _build(doc: Located, file: str) -> Config:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    classification = data.get("classification", {})
    rules = []
    for i, rule in enumerate(classification.get("names", [])):
        try:
            pattern = re.compile(rule["pattern"])
        except re.error as exc:
            line, col = doc.at(f"/classification/names/{i}/pattern")
            problems.append(Problem(file, line, col, f"regular expression does not compile: {exc}",
                                    f"/classification/names/{i}/pattern"))
            continue
        rules.append(NameRule(pattern, rule["data_class"], frozenset(rule.get("kinds", ()))))
    policies = {}
    for policy_id, settings in data.get("policies", {}).items():
        base = f"/policies/{policy_id}/params"
        params = settings.get("params", {})
        policies[policy_id] = PolicySettings(
            enabled=settings.get("enabled"),
            severity=settings.get("severity"),
            params=params,
            param_locations={name: doc.at(f"{base}/{name}") for name in params},
            location=doc.key_at(f"/policies/{policy_id}"),
        )
    if problems:
        raise ProblemsError(problems)
    values, warnings = _classification_values(classification, file)
    return Config(
        classification_keys=tuple(classification.get("keys", DEFAULT_KEYS)),
        classification_values=values,
        warnings=warnings,
        name_rules=tuple(rules),
        policies=policies,
        providers=data.get("providers", {}),
        fail_on=data.get("fail_on"),
        waivers=Path(file).parent / data["waivers"] if "waivers" in data else None,
        source=file,
    )
