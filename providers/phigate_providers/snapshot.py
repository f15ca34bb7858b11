"""The snapshot provider: reads inventories in phigate's normalised format.

Accepts JSON, YAML, JSON Lines (streamed line by line, for millions of resources) and folders of
them. Every record is validated against the resource and kind schemas; a broken snapshot stops
the run with every problem located as ``FILE:LINE:COL`` (exit 2), never a partial scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import orjson

from phigate.api import CollectionError, Context, InputError, ProviderSpec, Record, RunContext, Scope
from phigate.files import LIMITS, open_bounded, read_bounded
from phigate.problems import Problem, ProblemsError, json_pointer
from phigate.snapshot import (
    END_KEY,
    HEADER_KEY,
    RecordValidator,
    error_from_json,
    locate,
    resource_from_json,
)
from phigate.validation import schema_problems
from phigate.yamlsafe import Located, has_lone_surrogate, load_file

#: Snapshots are positional targets; no options of their own.
SPEC = ProviderSpec(takes_targets=True)

SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")
MAX_DOCUMENT_BYTES = LIMITS["snapshot"]
MAX_YAML_BYTES = LIMITS["snapshot_yaml"]
#: One JSON Lines record (a resource with its raw data) is far smaller; a longer line is refused
#: before it is held in memory.
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS = 200


#: How the end line starts.
_END_OPENING = '{"' + END_KEY + '"'


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"duplicate key '{key}'")
            seen.add(key)
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _strict_json(text: str) -> Any:
    """The standard library's parser, told to refuse duplicate keys and NaN: slow, exact."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nesting too deep") from None
    if has_lone_surrogate(data):  # orjson refuses these; the standard parser lets them through
        raise ValueError("a string holds a lone surrogate escape (\\ud800-\\udfff): not Unicode")
    return data


def _json(text: str) -> Any:
    """Parse fast; fall back to the strict parser whenever a duplicate key is possible.

    orjson keeps the last of two duplicate keys silently. Every key is followed by a colon
    (after optional whitespace), and the only other colons are inside strings; orjson writes
    each of those back as a colon. So when the parsed value, serialised again, holds as many
    colons as the text, no key was lost, unless the text wrote a colon in a string as an escape
    (``\\u003a``), which would hide one: such text, like any difference, goes to the strict
    parser, which names the duplicate or accepts the text. (Counting ``":`` instead missed a
    duplicate whenever another key had a space before its colon.)
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _strict_json(text)  # for its precise message
    try:
        same = text.count(":") == orjson.dumps(data).count(b":") and "\\u003" not in text
    except TypeError:  # nesting orjson reads but does not write back (past 254 levels)
        same = False
    return data if same else _strict_json(text)


#: The opening of `terraform show -json` output.
_TERRAFORM_PLAN = re.compile(r'^\s*\{\s*"format_version"\s*:.*"terraform_version"\s*:', re.S)


def _sniff(path: Path) -> str | None:
    """'jsonl', 'json', 'yaml' when ``path`` holds a phigate snapshot, else None.
    A device, FIFO or socket is refused (ProblemsError) without being read."""
    try:
        with open_bounded(path, "snapshot_lines") as stream:
            head = stream.read(4096)
    except OSError:
        return None
    text = head.decode("utf-8", errors="replace")
    first = text.split("\n", 1)[0].strip()
    if HEADER_KEY not in text or _TERRAFORM_PLAN.search(text[:512]):
        return None  # a plan may mention the header key in a tag; it is the plan reader's
    if first.startswith("{") and first.endswith("}") and HEADER_KEY in first:
        try:
            data = json.loads(first)
        except ValueError:
            data = None
        if isinstance(data, dict) and "resources" not in data:
            return "jsonl"
    return "json" if text.lstrip().startswith("{") else "yaml"


class SnapshotProvider:
    """Reads phigate snapshots given as positional targets."""

    name: ClassVar[str] = "snapshot"
    description: ClassVar[str] = "phigate snapshots (JSON, YAML, JSON Lines, or folders of them)"
    permissions: ClassVar[tuple[str, ...]] = ("read access to the snapshot files",)

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._validator: RecordValidator | None = None
        self._seen: set[str] = set()

    @classmethod
    def claims(cls, target: str) -> bool:
        path = Path(target)
        if path.is_dir():
            return any(_claimable(p) for p in _files(path))
        return path.is_file() and _claimable(path)

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[SnapshotProvider]:
        configured = context.settings.get("paths", [])
        if not isinstance(configured, list) or not all(isinstance(p, str) for p in configured):
            raise InputError("providers.snapshot.paths in the config takes a list of file or folder paths")
        paths = [Path(t) for t in targets] + [Path(p) for p in configured]
        return [cls(paths)] if paths else []

    def scopes(self) -> list[Scope]:
        return [Scope("snapshot", str(p)) for p in self.paths]

    def slices(self) -> list[SnapshotProvider]:
        """One provider per file, in reading order, for a distributed scan (ids repeated across
        files are refused where the parts are merged; an empty folder keeps its problem)."""
        parts = []
        for path in self.paths:
            files = _files(path) if path.is_dir() else [path]
            parts += [SnapshotProvider([file]) for file in files] or [SnapshotProvider([path])]
        return parts

    def collect(self) -> Iterator[Record]:
        self._validator = RecordValidator()
        problems: list[Problem] = []
        for path in self.paths:
            files = _files(path) if path.is_dir() else [path]
            if not files:
                problems.append(Problem(str(path), 1, 1, "no snapshot files in this folder"))
            for file in files:
                yield from self._read(file, problems)
                if len(problems) >= MAX_PROBLEMS:
                    break
        if problems:
            raise ProblemsError(problems[:MAX_PROBLEMS])

    def _read(self, file: Path, problems: list[Problem]) -> Iterator[Record]:
        kind = _sniff(file)
        if kind is None:
            problems.append(Problem(str(file), 1, 1, f"not a phigate snapshot (no '{HEADER_KEY}' "
                                    "header; see `phigate schema snapshot`)"))
            return
        if kind == "jsonl":
            yield from self._read_lines(file, problems)
        else:
            yield from self._read_document(file, kind, problems)

    def _read_lines(self, file: Path, problems: list[Problem]) -> Iterator[Record]:
        name = str(file)
        stream = open_bounded(file, "snapshot_lines")  # a regular file within its limit, or exit 2
        end_line = False
        ended: int | None = None  # the record count the end line gives, once read
        count = 0
        with stream:
            for number, raw in enumerate(iter(partial(stream.readline, MAX_LINE_BYTES + 1), b""), start=1):
                if len(raw) > MAX_LINE_BYTES:  # one record never needs more: not read further
                    problems.append(Problem(name, number, 1, f"line longer than {MAX_LINE_BYTES} bytes"))
                    return
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:  # located, and the rest still checked
                    problems.append(Problem(name, number, exc.start + 1, "line is not valid UTF-8"))
                    continue
                if number == 1:
                    problems.extend(_check_header(line, name))
                    end_line = not problems and _declares_end_line(line)
                elif ended is not None and line.strip():
                    problems.append(Problem(name, number, 1, "a record after the end line"))
                elif line.lstrip().startswith(_END_OPENING):
                    ended = _end_count(line, number, name, problems)
                elif line and not line.isspace():  # as `line.strip()`, without the copy
                    count += 1
                    record = self._line_record(line.rstrip("\r\n"), number, name, problems)
                    if record is not None:
                        yield record
                if len(problems) >= MAX_PROBLEMS:
                    return
        if end_line and ended != count and not problems:
            # Cut after a complete record, the file reads as a smaller estate: never a pass.
            told = "no end line" if ended is None else f"the end line counts {ended}"
            yield CollectionError(self.name, f"{name}: snapshot cut short ({count} records read, {told})",
                                  scope=name)

    def _line_record(self, line: str, number: int, name: str,
                     problems: list[Problem]) -> Record | None:
        """One JSON Lines record, or None with its problems noted."""
        assert self._validator is not None
        try:
            data = _json(line)
        except (ValueError, DuplicateKey) as exc:
            problems.append(_json_problem(exc, name, number))
            return None
        if not self._validator.is_valid(data):
            located = _line_positions(locate(line, name), number)
            problems.extend(self._problems(data, located, name, (), ("error",)))
            return None
        if self._is_duplicate(data):
            problems.append(Problem(name, number, 1, f"duplicate resource id '{_resource_id(data)}'",
                                    "/context/id" if "context" in data else "/id"))
            return None
        return _record(data)

    def _read_document(self, file: Path, kind: str, problems: list[Problem]) -> Iterator[Record]:
        assert self._validator is not None
        name = str(file)
        loaded = _load_document(file, kind, problems)
        if loaded is None:
            return
        data, located = loaded.data, loaded
        header = {k: v for k, v in data.items() if k not in ("resources", "context", "errors")}
        problems.extend(_header_problems(header, located, name))
        records: list[tuple[tuple[Any, ...], Any]] = []
        for section in ("resources", "context", "errors"):
            items = data.get(section, [])
            if not isinstance(items, list):
                problems.append(Problem(name, *_position(located, f"/{section}"),
                                        f"'{section}' must be a list", f"/{section}"))
                continue
            records += [((section, i), r if section == "resources" else {section.rstrip("s"): r})
                        for i, r in enumerate(items)]
        for base, record in records:
            if self._validator.is_valid(record) and not self._is_duplicate(record):
                yield _record(record)
                continue
            if not located.positions:  # positions are worked out only when something is wrong
                located = locate(read_bounded(file, "snapshot").decode("utf-8"), name)
            if self._validator.is_valid(record):
                pointer = json_pointer((*base, "id"))
                problems.append(Problem(name, *located.at(pointer),
                                        f"duplicate resource id '{_resource_id(record)}'", pointer))
            else:
                problems.extend(self._problems(record, located, name, base, base))
            if len(problems) >= MAX_PROBLEMS:
                return

    def _is_duplicate(self, data: dict[str, Any]) -> bool:
        """Two resources with one id would make references ambiguous: refuse the snapshot."""
        if "error" in data and len(data) == 1:
            return False
        if "context" in data and len(data) == 1:
            data = data["context"]
        if data["id"] in self._seen:
            return True
        self._seen.add(data["id"])
        return False

    def _problems(self, record: Any, located: Located, file: str,
                  resource_base: tuple[Any, ...], error_base: tuple[Any, ...]) -> list[Problem]:
        assert self._validator is not None
        if isinstance(record, dict) and "error" in record and len(record) == 1:
            return self._validator.error_problems(record["error"], located, file, error_base)
        return self._validator.problems(record, located, file, resource_base)


def _load_document(file: Path, kind: str, problems: list[Problem]) -> Located | None:
    """A whole JSON or YAML snapshot document (JSON positions are computed only on demand)."""
    name = str(file)
    if kind == "yaml":
        docs, found = load_file(file, limit_name="snapshot_yaml")
        problems.extend(found)
        if found:
            return None
        if len(docs) != 1:
            problems.append(Problem(name, 1, 1, "a YAML snapshot holds exactly one document"))
            return None
        located = docs[0]
    else:
        try:
            located = Located(_json(read_bounded(file, "snapshot").decode("utf-8")), {}, {})
        except (ValueError, DuplicateKey) as exc:
            problems.append(_json_problem(exc, name, 0))
            return None
        except ProblemsError as exc:  # not a regular file, or over the limit (use JSON Lines)
            problems.extend(exc.problems)
            return None
    if not isinstance(located.data, dict):
        problems.append(Problem(name, 1, 1, "a snapshot is a mapping"))
        return None
    return located


def _claimable(path: Path) -> bool:
    try:
        return _sniff(path) is not None
    except ProblemsError:  # replaced by a device or FIFO since it was listed
        return False


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                  and not p.name.startswith("."))


def _resource_id(data: dict[str, Any]) -> Any:
    return data["context"]["id"] if "context" in data and len(data) == 1 else data["id"]


def _record(data: dict[str, Any]) -> Record:
    if "error" in data and len(data) == 1:
        return error_from_json(data["error"])
    if "context" in data and len(data) == 1:
        return Context(resource_from_json(data["context"]))
    return resource_from_json(data)


def _position(located: Located, pointer: str) -> tuple[int, int]:
    return located.at(pointer) if located.positions else (1, 1)


def _declares_end_line(header_line: str) -> bool:
    try:
        data = _json(header_line)
    except (ValueError, DuplicateKey):
        return False
    return isinstance(data, dict) and data.get("end_line") is True


def _end_count(line: str, number: int, file: str, problems: list[Problem]) -> int | None:
    """The record count of the end line ``{"phigate_snapshot_end": {"records": N}}``."""
    try:
        data = _json(line)
    except (ValueError, DuplicateKey) as exc:
        problems.append(_json_problem(exc, file, number))
        return None
    records = data.get(END_KEY, {}).get("records") if isinstance(data.get(END_KEY), dict) else None
    if set(data) != {END_KEY} or not isinstance(records, int) or isinstance(records, bool) or records < 0:
        problems.append(Problem(file, number, 1, 'the end line is {"' + END_KEY + '": {"records": N}}'))
        return None
    return records


def _check_header(line: str, file: str) -> list[Problem]:
    try:
        data = _json(line)
    except (ValueError, DuplicateKey) as exc:
        return [_json_problem(exc, file, 1)]
    return _header_problems(data, _line_positions(locate(line, file), 1), file)


def _header_problems(data: Any, located: Located, file: str) -> list[Problem]:
    wrapper = Located(data, located.positions, located.key_positions)
    found = schema_problems("snapshot", wrapper, file) if isinstance(data, dict) else []
    if isinstance(data, dict) and data.get(HEADER_KEY) not in (1, None):
        return [Problem(file, *_position(located, f"/{HEADER_KEY}"),
                        f"unsupported snapshot version {data.get(HEADER_KEY)!r} (this phigate reads 1)",
                        f"/{HEADER_KEY}")]
    return found


def _line_positions(located: Located, line: int) -> Located:
    """Shift positions of a one-line document to its line in the file."""
    shift = line - 1
    # A line the position loader refuses (nested past its depth limit) is located at its start.
    positions = {k: (v[0] + shift, v[1]) for k, v in located.positions.items()} or {"": (line, 1)}
    return Located(located.data, positions,
                   {k: (v[0] + shift, v[1]) for k, v in located.key_positions.items()})


def _json_problem(exc: Exception, file: str, line: int) -> Problem:
    if isinstance(exc, json.JSONDecodeError):
        return Problem(file, exc.lineno + max(line - 1, 0), exc.colno, f"invalid JSON: {exc.msg}")
    return Problem(file, max(line, 1), 1, f"invalid JSON: {exc}")


__all__ = ["SnapshotProvider"]
