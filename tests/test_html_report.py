"""The HTML report, read back with html.parser: self-contained, everything from the estate
escaped, its data embedded as inert JSON, filters over what the table holds, per-policy detail."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from phigate.config import Config
from phigate.frameworks import load_frameworks
from phigate.load import load_policies
from phigate.registry import REPORTERS, names
from phigate.reporters.html import (
    AuditContext,
    HtmlReporter,
    TrendPoint,
    embed_json,
    findings_of,
    render_html,
)
from phigate.run import RunResult, scan
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, CliResult, resource

HOSTILE = "<script>alert(1)</script>"
WriteSnapshot = Callable[..., Path]
_VOID = frozenset({"meta", "br", "input", "link", "img", "hr", "col", "area", "base", "wbr", "source"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def by_id(self, element_id: str) -> Node:
        found = self.find(id=element_id)
        assert len(found) == 1, f"expected one element #{element_id}, found {len(found)}"
        return found[0]

    def fingerprints(self) -> set[str]:
        return {n.attrs["data-fingerprint"] for n in self.walk() if "data-fingerprint" in n.attrs}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    """A tree of the page; every element must be closed where it was opened."""
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


POLICIES = DATA / "policies"


def hostile_estate(write_snapshot: WriteSnapshot) -> Path:
    return write_snapshot([
        resource("b0", "object_store", tags={"data_class": "clinical"}, attributes={"versioning": False},
                 name=HOSTILE),
        resource('b1"><img src=x onerror=alert(2)>', "object_store", tags={"data_class": "clinical"},
                 attributes={"versioning": False}),
        resource("b2", "object_store", tags={"data_class": "clinical"}, attributes={"versioning": True}),
        resource("b3", "object_store", tags={"data_class": "clinical"}, attributes={}),  # unseen: error
    ])


def evaluate(path: Path, policy_dir: Path = POLICIES) -> RunResult:
    return scan([SnapshotProvider([path])], load_policies([policy_dir], Config()), Config(),
                frameworks=load_frameworks())


def render(result: RunResult, audit: AuditContext | None = None) -> str:
    out = io.StringIO()
    render_html(result, out, audit)
    return out.getvalue()


@pytest.fixture
def page_text(write_snapshot: WriteSnapshot) -> str:
    out = io.StringIO()
    HtmlReporter().render(evaluate(hostile_estate(write_snapshot)), out, color=False)
    return out.getvalue()


def test_hostile_names_stay_text(page_text: str) -> None:
    page = parse_html(page_text)
    scripts = page.find("script")
    assert [s.attrs.get("type") for s in scripts] == ["application/json", None]  # ours, nothing else
    assert page.find("img") == []
    table = page.by_id("findings-table")
    assert HOSTILE in table.text()
    assert 'b1"><img src=x onerror=alert(2)>' in table.text()
    assert "<script>alert" not in page_text.replace(HOSTILE.replace("<", "&lt;").replace(">", "&gt;"), "")


def test_the_page_fetches_nothing_and_pins_its_own_style_and_script(page_text: str) -> None:
    page = parse_html(page_text)
    assert page.find("link") == [] and not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)",
                                                     page_text)
    for node in page.walk():
        assert "src" not in node.attrs
        assert node.attrs.get("href", "#").startswith("#")
    policy = page.find("meta", http_equiv="Content-Security-Policy")[0].attrs["content"]
    assert "default-src 'none'" in policy
    style, script = page.find("style")[0].text(), page.find("script")[1].text()
    for text in (style, script):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "@media print" in style


def test_the_embedded_data_is_inert_and_complete(page_text: str) -> None:
    page = parse_html(page_text)
    raw = page.by_id("phigate-data").text()
    assert "<" not in raw and ">" not in raw and "&" not in raw
    findings = findings_of(json.loads(raw))
    names_ = {f["resource_name"] or f["resource_id"] for f in findings}
    assert HOSTILE in names_
    rows = page.by_id("findings-table").find("tr", data_status="fail")
    assert {r.attrs["data-fingerprint"] for r in rows} == {f["id"] for f in findings if f["status"] == "fail"}
    assert embed_json({"x": "</script><!--"}) == '{"x": "\\u003c/script\\u003e\\u003c!--"}'


def test_filters_offer_exactly_what_the_table_holds(page_text: str) -> None:
    page = parse_html(page_text)
    rows = page.by_id("findings-table").find("tbody")[0].find("tr")
    assert len(rows) == 3  # two failures, one error
    for key in ("status", "severity", "policy", "provider", "data-class"):
        select = page.find("select", data_filter=key)
        assert len(select) == 1, key
        offered = {o.attrs["value"] for o in select[0].find("option")} - {""}
        assert offered == {r.attrs[f"data-{key}"] for r in rows}, key
    assert {r.attrs["data-status"] for r in rows} == {"fail", "error"}
    assert page.by_id("findings-shown").text() == "3"
    assert page.by_id("filter-text").tag == "input"


def test_each_failing_policy_has_its_rationale_remediation_and_evidence(page_text: str) -> None:
    page = parse_html(page_text)
    detail = page.by_id("policy-T-VERSIONING")
    text = detail.text()
    assert "Deleted or overwritten notes must be recoverable." in text
    assert "Enable versioning." in text and "hipaa: 164.312(c)(1)" in text
    evidence = detail.find("ul", **{"class": "evidence"})
    assert any("versioning is false; it must be true" in e.text() for e in evidence)
    assert page.find(id="policy-T-SEGMENTATION") == []  # nothing failed there


def test_compliance_is_headlined_per_framework(page_text: str) -> None:
    page = parse_html(page_text)
    cards = {c.attrs["data-framework"]: c for c in page.by_id("compliance").find("div")
             if "data-framework" in c.attrs}
    assert set(cards) == {"gdpr", "hipaa"}
    assert "1 failed" in cards["hipaa"].text() and "164.312(c)(1)" in cards["hipaa"].text()
    # Coverage beside the fraction: a control or two covered is never "100 %".
    assert "%" not in cards["hipaa"].find("div", **{"class": "big"})[0].text()
    assert "controls of the catalogue covered by a policy" in cards["hipaa"].text()
    assert "card-thin" in cards["hipaa"].attrs["class"]
    assert page.by_id("verdict").text().startswith("Evidence incomplete")


def test_a_plain_scan_has_no_trend_or_changes(page_text: str) -> None:
    page = parse_html(page_text)
    assert page.find(id="trend") == [] and page.find(id="changes") == []


def test_policy_text_from_a_policy_file_is_escaped_too(write_snapshot: WriteSnapshot, tmp_path: Path) -> None:
    folder = tmp_path / "hostile-policies"
    folder.mkdir()
    (folder / "p.yaml").write_text(
        "id: X-1\ntitle: \"</script><script>alert(3)</script>\"\nseverity: high\nkinds: [object_store]\n"
        "assert: {path: versioning, op: eq, value: true}\nrationale: \"<b>bold</b> & co\"\n"
        "remediation: \"<a href='https://example.invalid'>fix</a>\"\n")
    page_text = render(evaluate(hostile_estate(write_snapshot), folder))
    page = parse_html(page_text)
    assert len(page.find("script")) == 2
    assert [b for b in page.find("b") if b.text() == "bold"] == []
    assert page.find("a", href="https://example.invalid") == []
    assert "</script><script>alert(3)</script>" in page.by_id("policy-X-1").find("summary")[0].text()
    assert "<b>bold</b> & co" in page.by_id("policy-X-1").text()


def test_an_audit_report_draws_the_trend_and_lists_changes(write_snapshot: WriteSnapshot) -> None:
    result = evaluate(hostile_estate(write_snapshot))
    now = dt.datetime(2025, 6, 3, 2, 0, tzinfo=dt.UTC)
    trend = [TrendPoint(i + 1, now - dt.timedelta(days=3 - i), failed, errors)
             for i, (failed, errors) in enumerate([(5, 0), (3, 1), (2, 1), (2, 1)])]
    page = parse_html(render(result, AuditContext(4, HOSTILE, trend, None)))
    svg = page.by_id("trend").find("svg")[0]
    assert len(svg.find("circle")) == 8 and len(svg.find("polyline")) == 2
    assert any("run 1" in t.text() and "5 failure(s)" in t.text() for t in svg.find("title"))
    assert "First audit of this series" in page.by_id("changes").text()
    assert HOSTILE in page.find("code")[0].text()  # the series name, escaped


@pytest.mark.skipif("html" not in names(REPORTERS),
                    reason="the html reporter's entry point is declared in pyproject.toml (reinstall)")
def test_scan_writes_it_as_a_format(cli: Callable[..., CliResult], write_snapshot: WriteSnapshot,
                                    tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("scan", str(hostile_estate(write_snapshot)), "--policies", str(POLICIES),
                 "--format", f"html={out}", "-q")
    assert result.code == 3
    page = parse_html(out.read_text())
    assert HOSTILE in page.by_id("findings-table").text()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is installed by .ci/run")
def test_ten_thousand_findings_render_in_chromium_under_three_megabytes_grouped_by_policy(
        tmp_path: Path) -> None:
    from phigate.api import Resource
    from phigate.testing import scan_inventory

    estate = [Resource(f"arn:aws:s3:::bucket-{i}", "aws.s3.bucket", "object_store", "aws", "111122223333",
                       "eu-west-3", f"bucket-{i}", {"data_class": "clinical"},
                       attributes={"encryption": {"at_rest": False}, "versioning": False,
                                   "retention": {"enabled": False}})
              for i in range(5000)]
    result = scan_inventory(estate, only=["PHI-ENC-001", "PHI-INT-001"])
    assert len(result.findings) == 10_000
    page = tmp_path / "report.html"
    page.write_text(render(result), encoding="utf-8")
    assert page.stat().st_size < 3_000_000
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=180, check=True).stdout
    parsed = parse_html(dom)
    groups = parsed.by_id("findings-by-policy").find("tr", data_group="PHI-ENC-001")
    assert groups and "5000" in groups[0].text()
    assert len(parsed.by_id("findings-table").find("tbody")[0].find("tr")) == 200
    assert parsed.by_id("findings-total").text() == "10000"  # the script read every finding
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
                   capture_output=True, timeout=180, check=True)
    assert shot.stat().st_size > 10_000
