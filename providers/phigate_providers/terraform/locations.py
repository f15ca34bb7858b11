"""Where each planned resource is declared: the ``.tf`` file and line of its ``resource`` block.

The plan names resources by address; the configuration folder (``--tf-dir``) is read with
python-hcl2 (only block headers and module sources are used) and followed into local modules
(``source = "./modules/bucket"``). A resource of a module fetched from elsewhere points at the
``module`` block calling it. A ``.tf`` file that does not parse stops the run (exit 2) with its
position: locations on a half-read configuration would point at the wrong lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.api import InputError
from phigate.files import read_bounded
from phigate_providers.terraform.plan import PlannedResource, segments

LOCAL_SOURCES = ("./", "../")


@dataclass
class Folder:
    """The block headers of one configuration folder."""

    resources: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    #: module call name -> (file, line, source)
    modules: dict[str, tuple[str, int, str | None]] = field(default_factory=dict)


class Locator:
    """Locations of resource blocks under a configuration folder, folders parsed on demand."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise InputError(f"--tf-dir {root}: not a folder")
        try:
            import hcl2  # noqa: F401  (python-hcl2: only --tf-dir needs it)
        except ImportError:
            raise InputError("--tf-dir needs the python-hcl2 package (pip install python-hcl2)") from None
        self.root = root
        self._folders: dict[Path, Folder] = {}

    def locate(self, resource: PlannedResource) -> dict[str, Any] | None:
        folder_path = self.root
        calls = [p.split("[", 1)[0] for p in segments(resource.module)[1::2]] if resource.module else []
        for call in calls:
            module = self._folder(folder_path).modules.get(call)
            if module is None:
                return None
            file, line, source = module
            if source is None or not source.startswith(LOCAL_SOURCES):
                return {"file": file, "line": line}  # a module from elsewhere: its call
            folder_path = (folder_path / source).resolve()
        found = self._folder(folder_path).resources.get((resource.type, resource.name))
        return {"file": found[0], "line": found[1]} if found else None

    def locate_all(self, resources: Iterable[PlannedResource]) -> dict[str, dict[str, Any]]:
        found = {}
        for resource in resources:
            location = self.locate(resource)
            if location is not None:
                found[resource.address] = location
        return found

    def _folder(self, path: Path) -> Folder:
        if path not in self._folders:
            folder = Folder()
            if path.is_dir():
                for file in sorted(path.glob("*.tf")):
                    _read(file, self._display(file), folder)
            self._folders[path] = folder
        return self._folders[path]

    def _display(self, file: Path) -> str:
        """Paths as reports show them: relative to the working directory when under it."""
        try:
            return str(file.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(file)


def _read(file: Path, display: str, folder: Folder) -> None:
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        text = read_bounded(file, "terraform").decode("utf-8")  # a committed symlink may name a device
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read Terraform file: {exc}", f"{display}:1:1") from exc
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        raise InputError("Terraform file does not parse", f"{display}:{exc.line}:{exc.column}") from None
    except LarkError as exc:
        raise InputError(f"Terraform file does not parse: {exc}", f"{display}:1:1") from None
    body = next((c for c in tree.children if getattr(c, "data", None) == "body"), None)
    for block in getattr(body, "children", ()):
        if getattr(block, "data", None) != "block":
            continue
        words = [_text(c) for c in block.children if getattr(c, "data", None) in ("identifier", "string")]
        line = block.meta.line if not block.meta.empty else 1
        if words[:1] == ["resource"] and len(words) >= 3:
            folder.resources.setdefault((words[1], words[2]), (display, line))
        elif words[:1] == ["module"] and len(words) >= 2:
            folder.modules.setdefault(words[1], (display, line, _source(block)))


def _text(node: Any) -> str:
    """The characters of an identifier or a quoted label."""
    if hasattr(node, "children"):
        return "".join(_text(c) for c in node.children if getattr(c, "type", None) != "DBLQUOTE")
    return str(node)


def _source(block: Any) -> str | None:
    body = next((c for c in block.children if getattr(c, "data", None) == "body"), None)
    for attribute in getattr(body, "children", ()):
        if getattr(attribute, "data", None) != "attribute" or not attribute.children:
            continue
        if _text(attribute.children[0]) == "source":
            strings = list(attribute.iter_subtrees_topdown())
            found = next((s for s in strings if s.data == "string"), None)
            return _text(found) if found is not None else None
    return None


def locations(root: Path, resources: Iterable[PlannedResource]) -> Mapping[str, Mapping[str, Any]]:
    return Locator(root).locate_all(resources)


__all__ = ["Locator", "locations"]
