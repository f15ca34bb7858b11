"""Hostile text in, nothing harmful out: whatever a plan, an object, a tag or an input file
holds, no report or message can forge a CI workflow command, drive a terminal, break a line,
mention someone or plant a link in a pull-request comment."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phigate.cli import main
from phigate.config import Config
from phigate.load import load_policies
from phigate.reporters.markdown import escape
from phigate.reporters.text import TextReporter
from phigate.run import scan
from phigate.safetext import (
    GuardedStream,
    display_url,
    guard,
    markdown_words,
    visible,
    without_userinfo,
)
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, resource

POLICIES = DATA / "policies"
FORMATS = ("text", "json", "sarif", "junit", "markdown", "html")
#: Lines as a CI runner splits its log.
_LINES = re.compile(r"\r\n|\r|\n")
_SGR = re.compile(r"^(?:\s|\x1b\[[0-9;]*m)*")

FRAGMENTS = [
    " ::error file=main.tf,line=1,title=Reviewed::Approved by security",
    "::add-mask::x", "::stop-commands::token", "::warning::", "##[error]forged", "##[group]",
    "\n::error::x", "\r::notice::x", "\r\n::debug::x", "\x1b[2J\x1b[H", "\x1b]0;title\x07",
    "\x85", "\u2028", "\u2029", "\u202e", "\u2066", "\x00", "\x7f", "\x9b31m", "\t", "\x0b",
    "##vso[task.setvariable variable=x]1", "@octocat", "@org/team", "a@b.example", "www.evil.example", "https://evil.example/x",
    "http://x", "ftp://y", "mailto:z", "|", "`", "*", "[x](y)", "<img src=x>", "&amp;",
    "# head", "- item", " " * 30, ":", "::", "#", "##", "[",
]
HOSTILE = st.lists(st.one_of(st.sampled_from(FRAGMENTS),
                             st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)),
                   min_size=1, max_size=12).map("".join)
PROFILE = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def command_lines(text: str) -> list[str]:
    """Lines a CI runner would take as a workflow command (blanks and colour codes skipped)."""
    return [line for line in _LINES.split(text) if line[_SGR.match(line).end():].startswith("::")
            or "##[" in line or "##vso[" in line]


def raw_controls(text: str, *, color: bool = False) -> list[str]:
    if color:
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return sorted({ch for ch in text if not ch.isprintable() and ch != "\n"})


def live_markdown(text: str) -> list[str]:
    """Mentions and autolinks outside code spans."""
    outside = re.sub(r"(`+)(?:(?!\1).)+?\1", "", text)
    return [line for line in outside.splitlines()
            if re.search(r"@[A-Za-z0-9]|(?<![A-Za-z0-9\\])(?:www\\?\.|https?:|ftp:|mailto:)", line)]


def _estate(tmp_path: Path, names: list[str]) -> Path:
    resources = [resource(f"{name}#{i}", "object_store", name=name,
                          tags={"data_class": "clinical", "owner": name},
                          attributes={"versioning": False})
                 for i, name in enumerate(names)]
    errors = [{"provider": "test", "scope": name, "region": name, "message": name,
               "resource_id": name, "permission": name} for name in names]
    path = tmp_path / "estate.json"
    path.write_text(json.dumps({"phigate_snapshot": 1, "resources": resources, "errors": errors}))
    return path


@contextmanager
def _columns(width: int) -> Iterator[None]:
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# -- every format, through the command line -----------------------------------------------

@settings(PROFILE, max_examples=15)
@given(names=st.lists(HOSTILE, min_size=1, max_size=3, unique=True))
def test_no_format_on_standard_output_can_forge_a_workflow_command(tmp_path: Path, names: list[str]) -> None:
    estate = _estate(tmp_path, names)
    for fmt in FORMATS:
        code, out, err = _run("scan", str(estate), "--policies", str(POLICIES), "--format", fmt)
        assert code == 3, err  # the collection errors make the evidence incomplete
        assert command_lines(out) == [], fmt
        assert command_lines(err) == [], fmt
        if fmt in ("text", "markdown"):
            assert raw_controls(out) == [], fmt
        if fmt == "markdown":
            assert live_markdown(out) == []
        if fmt in ("json", "sarif"):
            json.loads(out)


@PROFILE
@given(names=st.lists(HOSTILE, min_size=1, max_size=3, unique=True),
       width=st.sampled_from([20, 37, 80, 133, 400]), color=st.booleans())
def test_the_text_report_is_safe_at_every_terminal_width(tmp_path: Path, names: list[str], width: int,
                                                          color: bool) -> None:
    estate = _estate(tmp_path, names)
    result = scan([SnapshotProvider([estate])], load_policies([POLICIES], Config()), Config())
    out = io.StringIO()
    with _columns(width):
        TextReporter().render(result, out, color=color)
    text = out.getvalue()
    assert command_lines(text) == []
    assert raw_controls(text, color=color) == []
    for name in names:  # each value is shown, escaped, never dropped
        assert visible(name)[:8].strip() == "" or _squeezed(visible(name)[:8]) in _squeezed(text)


def _squeezed(text: str) -> str:
    return re.sub(r"[\s│┃|]+", "", re.sub(r"\x1b\[[0-9;]*m", "", text.replace("\\u003a", ":")))


@PROFILE
@given(key=HOSTILE)
def test_problems_quoting_a_config_key_stay_on_one_visible_line(tmp_path: Path, key: str) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text(json.dumps({key: 1, "fail_on": key}))
    code, out, err = _run("scan", str(_estate(tmp_path, ["b"])), "--config", str(config))
    assert code == 2
    assert command_lines(err) == [] and command_lines(out) == []
    assert raw_controls(err) == []
    assert all(line.startswith(("error: ", "1 problem", "2 problem")) for line in err.splitlines()), err


@PROFILE
@given(key=HOSTILE)
def test_problems_quoting_a_waiver_file_stay_on_one_visible_line(tmp_path: Path, key: str) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(json.dumps({"waivers": [{key: key, "policy": key}]}))
    code, _, err = _run("scan", str(_estate(tmp_path, ["b"])), "--waivers", str(waivers))
    assert code == 2
    assert command_lines(err) == [] and raw_controls(err) == []


# -- the pieces ----------------------------------------------------------------------------

@PROFILE
@given(text=HOSTILE)
def test_visible_text_has_no_control_character_or_line_break(text: str) -> None:
    shown = visible(text)
    assert shown.isprintable()
    assert len(_LINES.split(shown)) == 1


@settings(PROFILE, max_examples=300)
@given(chunks=st.lists(HOSTILE, min_size=1, max_size=8), flushes=st.lists(st.booleans(), min_size=8))
def test_a_guarded_stream_catches_commands_however_the_writes_are_cut(chunks: list[str],
                                                                      flushes: list[bool]) -> None:
    sink = io.StringIO()
    stream = GuardedStream(sink)
    for chunk, flush in zip(chunks, flushes, strict=False):
        stream.write(chunk)
        if flush:  # what was written so far is looked at now: a command may span the cut
            stream.flush()
    stream.close_line()
    assert command_lines(sink.getvalue()) == []
    assert sink.getvalue() == guard("".join(chunks))  # the same result as guarding it whole


def test_the_guard_changes_nothing_but_commands() -> None:
    assert guard("arn:aws:s3:::notes\n  a :: b\n") == "arn:aws:s3:::notes\n  a :: b\n"
    assert guard("x\n   ::error::y\r::add-mask::z") == "x\n   \\u003a:error::y\r\\u003a:add-mask::z"
    assert guard("step ##[error]x ##vso[task.setvariable]y # ## [") == (
        "step #\\u0023[error]x #\\u0023vso[task.setvariable]y # ## [")
    assert guard("\x1b[31m::error::red") == "\x1b[31m\\u003a:error::red"


@PROFILE
@given(text=HOSTILE)
def test_markdown_never_leaves_a_mention_or_an_autolink_live(text: str) -> None:
    assert live_markdown(escape(text)) == []
    assert "".join(part for part, _ in markdown_words(text)) == text


@pytest.mark.parametrize(("text", "shown"), [
    ('connect to "http://AKIA:s3cr3t@127.0.0.1:9000/b" failed', 'connect to "http://127.0.0.1:9000/b" failed'),
    ("postgresql://app:pw@db.internal/x", "postgresql://db.internal/x"),
    ("https://token@hooks.example/path", "https://hooks.example/path"),
    ("mail a@b.example", "mail a@b.example"),
    ("postgresql://app:p@ss@db.internal/x failed", "postgresql://db.internal/x failed"),
    ("http://AKIA:a@b@127.0.0.1:9000/b", "http://127.0.0.1:9000/b"),
    ("https://hooks.example/x?mail=a@b.example", "https://hooks.example/x?mail=a@b.example"),
])
def test_credentials_in_urls_are_removed_from_messages(text: str, shown: str) -> None:
    assert without_userinfo(text) == shown


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.example/services/T000/B000/XXXX", "https://hooks.example/…"),
    ("http://user:pw@127.0.0.1:8080/hook?token=1", "http://127.0.0.1:8080/…"),
    ("https://hooks.example", "https://hooks.example"),
    ("https://hooks.example:99999/x", "(an invalid URL)"),
])
def test_a_url_is_displayed_by_scheme_and_host_only(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_the_cli_escapes_what_argparse_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["scan", "--fail-on", "x\n::error::forged\x1b[2J"])
    err = capsys.readouterr().err
    assert "\\x0a" in err or "\\n" in err
    assert command_lines(err) == [] and raw_controls(err) == []




@PROFILE
@given(series=HOSTILE)
def test_the_webhook_text_keeps_its_lines_whatever_the_series_is_called(tmp_path: Path, series: str) -> None:
    from phigate.notify import payload

    result = scan([SnapshotProvider([_estate(tmp_path, [series])])], load_policies([POLICIES], Config()),
                  Config())
    text = payload(result, run_id=1, series=series, exit_code=3, drift=None)["text"]
    assert len(text.splitlines()) == 2  # the headline and "evidence incomplete", nothing injected
    assert raw_controls(text) == [] and "<" not in text and ">" not in text
