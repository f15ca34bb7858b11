"""The terraform provider: a plan (``terraform show -json PLANFILE``) judged as it will be after apply.

A positional TARGET is a plan when its content says so: a JSON object with ``format_version`` and
``planned_values`` or ``resource_changes`` (a phigate snapshot never has those). Nothing is called
and nothing but the plan (and, with ``--tf-dir``, the ``.tf`` files) is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

from phigate.api import CollectionError, Context, InputError, Record, Resource, RunContext, Scope
from phigate.files import LIMITS, open_bounded, read_bounded
from phigate.problems import ProblemsError
from phigate_providers.terraform.document import encoding, parse, text_of
from phigate_providers.terraform.mapping import Mapped, map_plan
from phigate_providers.terraform.plan import Plan, load_document

HEAD_BYTES = 64 * 1024
CHUNK = 1024 * 1024
MAX_PLAN_BYTES = LIMITS["plan"]
SETTINGS = frozenset({"tf_dir", "changed_only"})
_PLAN_KEYS = ('"planned_values"', '"resource_changes"')


def _looks_like_plan(path: Path) -> bool:
    """A JSON object naming ``format_version`` early, then planned values or resource changes,
    in UTF-8 or UTF-16 (by its byte order mark).

    Only the head is parsed by eye (a plan may be hundreds of megabytes); the whole document is
    checked when it is read.
    """
    try:
        # Never a FIFO or a device, even to sniff; the size limit is the reader's to report.
        with open_bounded(path, "plan", max_bytes=1 << 62) as stream:
            head = stream.read(HEAD_BYTES)
            text = text_of(head)
            if _is_ui_log(text):
                return True  # refused when read, with what to run instead
            if not text.lstrip().startswith("{") or '"format_version"' not in text:
                return _is_state(text)
            if '"phigate_snapshot"' in text:
                return False
            name, _ = encoding(head)
            keys = [key.encode(name) for key in _PLAN_KEYS]
            tail = b""
            block = head
            while block:
                window = tail + block
                if any(key in window for key in keys):
                    return True
                tail = window[-64:]
                block = stream.read(CHUNK)
    except (OSError, ProblemsError):
        return False
    return _is_state(text)


def _is_state(text: str) -> bool:
    """Terraform state given for the plan (refused when read, with what to run instead):
    ``terraform show -json`` without a plan file (its ``values``), or a ``.tfstate`` file."""
    head = text.lstrip()
    return head.startswith("{") and (
        ('"format_version"' in head and '"values"' in head and '"root_module"' in head)
        or ('"lineage"' in head and '"serial"' in head and '"terraform_version"' in head))


def _is_ui_log(text: str) -> bool:
    """The machine-readable log of ``terraform plan -json`` (one UI message a line), which users
    give for the plan: its first line is Terraform's version message."""
    first = text.lstrip().split("\n", 1)[0]
    return (first.startswith('{"@level"') and '"@module":"terraform.ui"' in first
            and '"type":"version"' in first)


class TerraformProvider:
    """Terraform plans given as positional targets."""

    name: ClassVar[str] = "terraform"
    description: ClassVar[str] = "Terraform plans (terraform show -json), judged as they will be after apply"
    permissions: ClassVar[tuple[str, ...]] = (
        "read access to the plan JSON (and to the .tf files given with --tf-dir)",)

    def __init__(self, path: Path, *, tf_dir: Path | None = None, changed_only: bool = False,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self.path = path
        #: The run's classification (the access graph weighs unseen readers by data class).
        self.classify = classify
        self.tf_dir = tf_dir
        self.changed_only = changed_only
        self._report: Callable[[str], None] | None = None
        self._notices: list[str] = []
        self._problems: list[str] = []
        self._regions: tuple[str, ...] = ()

    @classmethod
    def claims(cls, target: str) -> bool:
        path = Path(target)
        return path.is_file() and _looks_like_plan(path)

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[TerraformProvider]:
        settings = context.settings
        unknown = sorted(set(settings) - SETTINGS)
        if unknown:
            raise InputError(f"providers.terraform: unknown setting(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(SETTINGS))})")
        tf_dir = context.options.get("tf_dir") or settings.get("tf_dir")
        if tf_dir is not None and not isinstance(tf_dir, (str, Path)):
            raise InputError("providers.terraform.tf_dir must be a folder path")
        changed = context.option("changed_only", "changed_only")
        if changed is None:
            changed = False
        if not isinstance(changed, bool):
            raise InputError("providers.terraform.changed_only must be true or false")
        if tf_dir is not None and not Path(tf_dir).is_dir():
            raise InputError(f"--tf-dir {tf_dir}: no such folder")
        return [cls(Path(t), tf_dir=Path(tf_dir) if tf_dir else None, changed_only=changed,
                    classify=context.classify) for t in targets]

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, str(self.path), self._regions)]

    def watch(self, report: Callable[[str], None]) -> None:
        self._report = report

    def notices(self) -> list[str]:
        """What the plan holds that was not evaluated (types not mapped, settings of buckets
        outside the plan): information, never an error."""
        return list(self._notices)

    def read(self) -> Plan:
        label = str(self.path)
        try:
            raw = read_bounded(self.path, "plan")  # a regular file within its limit, or exit 2
            if _is_ui_log(text_of(raw[:HEAD_BYTES])):
                raise InputError("this is the log of `terraform plan -json` (UI messages), not a plan: "
                                 "run `terraform plan -out tfplan`, then "
                                 "`terraform show -json tfplan > plan.json`", f"{label}:1:1")
            data = parse(raw, label)
        except OSError as exc:
            raise InputError(f"cannot read plan: {exc.strerror}", f"{label}:1:1") from None
        return load_document(data, label)

    def mapped(self) -> Mapped:
        plan = self.read()
        locations = None
        if self.tf_dir is not None:
            from phigate_providers.terraform.locations import locations as locate

            locations = locate(self.tf_dir, plan.resources)
        mapped = map_plan(plan, changed_only=self.changed_only, locations=locations, classify=self.classify)
        self._problems = list(plan.problems)
        self._notices = mapped.notices(plan.label)
        self._regions = mapped.regions
        return mapped

    def collect(self) -> Iterator[Record]:
        mapped = self.mapped()
        if self._report is not None:
            count = sum(not item.outside for item in mapped.built)
            self._report(f"terraform: {self.path}: {count} resources")
            for notice in self._notices:
                self._report(notice)
        for item in mapped.built:
            yield Context(item.resource) if item.outside else item.resource
        yield from mapped.errors
        for problem in self._problems:
            # Scope-wide: every policy is undecided on this plan, whatever it found.
            yield CollectionError(provider=self.name, scope=str(self.path), message=f"{self.path}: {problem}")


__all__ = ["TerraformProvider"]
