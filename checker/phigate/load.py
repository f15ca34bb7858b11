"""Loading policies: strict YAML → schema → compiled :class:`Policy`, every problem at once.

A gate must never silently weaken, so an invalid policy is never skipped: any problem in any
file stops the run with exit 2 and a ``FILE:LINE:COL`` message per problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from phigate import __version__
from phigate.api import KINDS
from phigate.conditions import Junction, Leaf, Not, Quantifier
from phigate.config import Config
from phigate.files import read_bounded
from phigate.model import Condition, Inverse, Policy, Severity
from phigate.operators import OPERATORS, OperandError
from phigate.paths import (
    COMMON_SCHEMA,
    CompiledPath,
    Field,
    PathError,
    Shape,
    compile_path,
    record_roots,
)
from phigate.problems import Problem, ProblemsError, json_pointer
from phigate.result import PackInfo
from phigate.typecheck import PLACEHOLDER, type_mismatch
from phigate.validation import schema_problems
from phigate.yamlsafe import Located, load_file

POLICY_SUFFIXES = (".yaml", ".yml")
FIXTURE_SUFFIXES = (".test.yaml", ".test.yml")
#: Framework catalogues (controls and their titles) ship beside the packs, in this folder.
FRAMEWORKS_FOLDER = "frameworks"
#: The config file may sit among the policies; it is never read as one.
CONFIG_NAMES = ("phigate.yaml", "phigate.yml")


def bundled_pack() -> Path:
    """Folder of the policy packs shipped inside the distribution."""
    return Path(str(resources.files("phigate_policies")))


def pack_info(policies: Iterable[Policy]) -> list[PackInfo]:
    """Group policies by folder; the digest covers every policy file's bytes, in order."""
    bundled = bundled_pack().resolve()
    folders: dict[Path, set[Path]] = {}
    counts: dict[Path, int] = {}
    for policy in policies:
        file = Path(policy.source.rsplit(":", 1)[0]).resolve()
        folders.setdefault(file.parent, set()).add(file)
        counts[file.parent] = counts.get(file.parent, 0) + 1
    packs = []
    for folder in sorted(folders):
        digest = hashlib.sha256()
        for file in sorted(folders[folder]):
            digest.update(file.name.encode() + b"\0" + read_bounded(file, "config"))
        inside = folder.is_relative_to(bundled)
        name = f"phigate/{folder.relative_to(bundled)}" if inside else str(folder)
        packs.append(PackInfo(name, __version__ if inside else None, counts[folder],
                              digest.hexdigest()))
    return packs


def policy_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Policy files under ``paths`` (files or folders, recursive, sorted); fixtures excluded."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if _is_policy_file(p)
                                and FRAMEWORKS_FOLDER not in p.relative_to(path).parts[:-1]))
        elif path.is_file() and path.name.endswith(FIXTURE_SUFFIXES):
            policy = path.with_name(path.name.split(".test.")[0] + ".yaml")
            if policy.is_file() and policy not in files:
                files.append(policy)
        elif path.is_file() and path not in files:
            files.append(path)
        else:
            problems.append(Problem(str(path), 1, 1, "no such policy file or folder"))
    return files, problems


def _is_policy_file(path: Path) -> bool:
    name = path.name
    return (path.is_file() and name.endswith(POLICY_SUFFIXES) and name not in CONFIG_NAMES
            and not name.endswith(FIXTURE_SUFFIXES) and not name.startswith("."))


def load_policies(paths: Iterable[Path], config: Config | None = None) -> list[Policy]:
    """Load and compile every policy under ``paths``. Raises :class:`ProblemsError`."""
    config = config or Config()
    files, problems = policy_files(paths)
    policies: list[Policy] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for file in files:
        docs, file_problems = load_file(file)
        problems.extend(file_problems)
        if not docs and not file_problems:  # an empty file would otherwise weaken a gate unseen
            problems.append(Problem(str(file), 1, 1, "no policy in this file"))
        for doc in docs:
            compiler = _PolicyCompiler(str(file), doc, config)
            policy = compiler.compile()
            problems.extend(compiler.problems)
            if policy is None:
                continue
            line = doc.at("/id")[0]
            if policy.id in first_seen:
                other_file, other_line = first_seen[policy.id]
                problems.append(Problem(str(file), line, doc.at("/id")[1],
                                        f"policy id '{policy.id}' is already defined at "
                                        f"{other_file}:{other_line}", "/id"))
                continue
            first_seen[policy.id] = (str(file), line)
            policies.append(policy)
    if not files and not problems:
        problems.extend(Problem(str(p), 1, 1, "no policy files found") for p in paths)
    problems.extend(_unknown_config_ids(config, first_seen))
    if problems:
        raise ProblemsError(problems)
    # Only an explicit ``enabled: false`` leaves a policy out here; whether an opt-in policy
    # runs is the selection's to decide (it is loaded, listed and tested all the same).
    return sorted((p for p in policies if config.policy(p.id).enabled is not False), key=lambda p: p.id)


def _unknown_config_ids(config: Config, known: dict[str, tuple[str, int]]) -> Iterator[Problem]:
    """Settings for a policy that exists nowhere are a typo; settings for a bundled policy
    that this run did not load (``--policies my-folder``) are not."""
    unknown = [pid for pid in config.policies if pid not in known]
    if not unknown or config.source is None:
        return
    bundled = {p.id for p in load_policies([bundled_pack()])} if known.keys() else set()
    for policy_id in unknown:
        if policy_id not in bundled:
            line, column = config.policy(policy_id).location
            yield Problem(config.source, line, column, f"settings for unknown policy '{policy_id}'",
                          json_pointer(("policies", policy_id)))


def _in_condition(path: tuple[Any, ...]) -> bool:
    return bool(path) and path[0] in ("where", "assert")


@dataclass
class _Scope:
    """Where a condition is evaluated: its schema nodes and the kind of subject."""

    roots: tuple[dict[str, Any], ...]
    start: str  # "local", "remote" or "element"


class _PolicyCompiler:
    def __init__(self, file: str, doc: Located, config: Config) -> None:
        self.file, self.doc, self.config = file, doc, config
        self.problems: list[Problem] = []
        self.params: dict[str, Any] = {}
        self.needs_index = False
        self.remote_fields: set[tuple[str, str]] = set()
        self.local_fields: set[str] = set()
        self.inverses: set[Inverse] = set()
        #: Labels given to quantifiers (``as``), which the message may name.
        self.labels: set[str] = set()

    def problem(self, pointer: str, message: str, *, key: bool = False) -> None:
        line, col = self.doc.key_at(pointer) if key else self.doc.at(pointer)
        self.problems.append(Problem(self.file, line, col, message, pointer))

    def compile(self) -> Policy | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.problem("", "a policy document must be a mapping")
            return None
        self.problems.extend(schema_problems("policy", self.doc, self.file, skip=_in_condition))
        if self.problems and not _usable(data):
            return None
        policy_id = data["id"]
        settings = self.config.policy(policy_id)
        self._resolve_params(data.get("params", {}), settings.params, settings.param_locations)
        kinds = tuple(data.get("kinds", ()))
        scope = _Scope(record_roots(kinds), "local")
        if not kinds:  # provider-native policies: only common fields and raw are typed
            scope = _Scope(({"type": "object", "x-kind": "any",
                             "properties": dict(COMMON_SCHEMA)},), "local")
        where = self._condition(data["where"], "/where", scope) if "where" in data else None
        where_needs_index = self.needs_index
        check = self._condition(data["assert"], "/assert", scope)
        if "message" in data:
            self._check_message(data["message"], scope)
        if self.problems or check is None:
            return None
        remediation = data.get("remediation", {})
        return Policy(
            id=policy_id,
            title=data["title"],
            severity=Severity.parse(settings.severity or data["severity"]),
            kinds=frozenset(kinds),
            types=tuple(data.get("types", ())),
            where=where,
            check=check,
            controls={k: tuple(v) for k, v in sorted(data.get("controls", {}).items())},
            rationale=data.get("rationale", ""),
            remediation=({"default": remediation} if isinstance(remediation, str) else remediation),
            params=dict(self.params),
            source=f"{self.file}:{self.doc.at('')[0]}",
            needs_index=self.needs_index,
            where_needs_index=where_needs_index,
            local_fields=frozenset(self.local_fields),
            remote_fields=frozenset(self.remote_fields),
            inverses=frozenset(self.inverses),
            opt_in=data.get("opt_in", False) is True,
            message=data.get("message"),
        )

    def _check_message(self, message: Any, scope: _Scope) -> None:
        """Every placeholder of the message names the resource, a label or an attribute."""
        if not isinstance(message, str):
            return
        for name in PLACEHOLDER.findall(message):
            if name == "resource" or name in self.labels:
                continue
            try:
                compile_path(name, scope.roots, scope.start)
            except PathError:
                known = ", ".join(["resource", *sorted(self.labels)])
                self.problem("/message", f"unknown placeholder {{{name}}} (the resource, a label "
                                         f"given with 'as' ({known}), or an attribute path)")

    def _resolve_params(self, declared: dict[str, Any], overrides: Any,
                        locations: Any) -> None:
        for name, spec in declared.items():
            self.params[name] = spec["default"]
        for name, value in overrides.items():
            if name not in declared:
                line, col = locations.get(name, (1, 1))
                self.problems.append(Problem(self.config.source or "config", line, col,
                                             f"policy '{self.doc.data['id']}' has no param '{name}'"))
                continue
            default = declared[name]["default"]
            if _json_type(value) != _json_type(default):
                line, col = locations.get(name, (1, 1))
                self.problems.append(Problem(
                    self.config.source or "config", line, col,
                    f"param '{name}' of '{self.doc.data['id']}' must be a {_json_type(default)}, "
                    f"got a {_json_type(value)}"))
                continue
            self.params[name] = value

    def _condition(self, node: Any, pointer: str, scope: _Scope) -> Condition | None:
        if not isinstance(node, dict) or len(node) == 0:
            self.problem(pointer, "a condition must be a mapping (all, any, not, some, every, "
                                  "or a leaf with path/op/value)")
            return None
        if "all" in node or "any" in node:
            return self._group(node, pointer, scope)
        if "not" in node:
            self._only(node, pointer, {"not"})
            child = self._condition(node["not"], f"{pointer}/not", scope)
            return Not(child) if child is not None else None
        if "some" in node or "every" in node:
            return self._quantifier(node, pointer, scope)
        if "op" in node or "path" in node:
            return self._leaf(node, pointer, scope)
        keys = ", ".join(sorted(node))
        self.problem(pointer, f"not a condition: unknown key(s) {keys}; expected all, any, not, "
                              "some, every, or path/op/value")
        return None

    def _only(self, node: dict[str, Any], pointer: str, allowed: set[str]) -> bool:
        extra = sorted(set(node) - allowed)
        for key in extra:
            self.problem(f"{pointer}/{key}", f"unknown key '{key}' in this condition "
                                             f"(allowed: {', '.join(sorted(allowed))})", key=True)
        return not extra

    def _group(self, node: dict[str, Any], pointer: str, scope: _Scope) -> Condition | None:
        word = "all" if "all" in node else "any"
        ok = self._only(node, pointer, {word})
        items = node[word]
        if not isinstance(items, list) or not items:
            self.problem(f"{pointer}/{word}", f"'{word}' needs a non-empty list of conditions")
            return None
        children = [self._condition(c, f"{pointer}/{word}/{i}", scope) for i, c in enumerate(items)]
        if not ok or any(c is None for c in children):
            return None
        compiled = [c for c in children if c is not None]
        return Junction(compiled, every=word == "all")

    def _quantifier(self, node: dict[str, Any], pointer: str, scope: _Scope) -> Condition | None:
        word = "some" if "some" in node else "every"
        ok = self._only(node, pointer, {word, "match", "as"})
        label = node.get("as", "")
        if label:
            self.labels.add(str(label))
        if "match" not in node:
            self.problem(pointer, f"'{word}' needs a 'match' condition")
            return None
        path = self._path(node[word], f"{pointer}/{word}", scope)
        if path is None or not ok:
            return None
        if not path.shape.is_list:
            self.problem(f"{pointer}/{word}", f"'{path.text}' is not a list; '{word}' needs one")
            return None
        targets = path.shape.item_ref_kinds()
        inner_scope = (_Scope(record_roots(targets), "remote") if targets is not None
                       else _Scope(path.shape.items(), "element"))
        if targets is not None:
            self.needs_index = True
        match = self._condition(node["match"], f"{pointer}/match", inner_scope)
        if match is None:
            return None
        return Quantifier(word == "every", path, scope.start, match, follow=targets is not None,
                          label=str(label))

    def _leaf(self, node: dict[str, Any], pointer: str, scope: _Scope) -> Condition | None:
        ok = self._only(node, pointer, {"path", "op", "value", "param"})
        op_name = node.get("op")
        if not isinstance(op_name, str) or op_name not in OPERATORS:  # a list or map is no name
            known = ", ".join(OPERATORS)
            self.problem(f"{pointer}/op", f"unknown operator '{op_name}' (known: {known})"
                         if op_name is not None else "a leaf needs 'op'")
            return None
        if ("value" in node) == ("param" in node):
            self.problem(pointer, "a leaf needs exactly one of 'value' or 'param'")
            return None
        if "param" in node:
            name = node["param"]
            if not isinstance(name, str) or name not in self.params:
                self.problem(f"{pointer}/param", f"unknown param '{name}' (declare it under params)")
                return None
            expected = self.params[name]
        else:
            expected = node["value"]
        try:
            predicate = OPERATORS[op_name].build(expected)
        except OperandError as exc:
            where = f"{pointer}/value" if "value" in node else f"{pointer}/param"
            self.problem(where, f"operator '{op_name}' {exc}")
            return None
        if "path" not in node:
            if scope.start != "element":
                self.problem(pointer, "a leaf needs 'path' (only list elements may omit it)")
                return None
            path = _element_path(scope)
        else:
            compiled = self._path(node["path"], f"{pointer}/path", scope)
            if compiled is None:
                return None
            path = compiled
        mismatch = type_mismatch(op_name, expected, path.shape.nodes)
        if mismatch is not None:
            where = f"{pointer}/value" if "value" in node else f"{pointer}/param"
            self.problem(where, mismatch)
            return None
        return Leaf(path, scope.start, op_name, expected, predicate) if ok else None

    def _path(self, text: Any, pointer: str, scope: _Scope) -> Any:
        if not isinstance(text, str):
            self.problem(pointer, "a path must be a string")
            return None
        try:
            compiled = compile_path(text, scope.roots, scope.start)
        except PathError as exc:
            self.problem(pointer, str(exc))
            return None
        if compiled.follows_references or scope.start == "remote":
            self.needs_index = True
        self.remote_fields.update(compiled.remote_fields)
        first = compiled.steps[0] if compiled.steps else None
        if scope.start == "local" and isinstance(first, Field):
            self.local_fields.add(first.name)
        self.inverses.update(compiled.inverses)
        return compiled


def _element_path(scope: _Scope) -> CompiledPath:
    return CompiledPath(".", (), Shape(scope.roots), (), ())


def _usable(data: dict[str, Any]) -> bool:
    return (isinstance(data.get("id"), str) and isinstance(data.get("title"), str)
            and isinstance(data.get("severity"), str)
            and data.get("severity") in ("critical", "high", "medium", "low", "info")
            and "assert" in data and isinstance(data.get("kinds", []), list)
            and all(k in KINDS for k in data.get("kinds", []))
            and isinstance(data.get("types", []), list)
            and isinstance(data.get("params", {}), dict)
            and all(isinstance(v, dict) and "default" in v for v in data.get("params", {}).values()))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "null"
