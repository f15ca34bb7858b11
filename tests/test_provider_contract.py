"""The provider contract in code: options declared as data (no SDK loaded to build the command
line), a typed run context for ``configure``, and plugins checked against their contract when
their entry point loads."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from phigate import registry
from phigate.testing import run_context

from . import contract_plugins
from .conftest import DATA, ROOT, CliResult

SNAPSHOT = ROOT / "examples" / "supplier-estate.json"
PLAN = DATA / "terraform" / "clinic" / "plan.json"
#: What the cloud and database extras install: none of it may load for a file scan.
SDKS = ("boto3", "botocore", "s3transfer", "google.cloud", "google.auth", "google.api_core",
        "psycopg", "psycopg2", "duckdb")
LOADED = ("import sys; loaded = sorted({m for m in sys.modules for sdk in " + repr(SDKS) +
          " if m == sdk or m.startswith(sdk + '.')}); ")


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)


@pytest.mark.parametrize(("target", "exit_code"), [(SNAPSHOT, 1), (PLAN, 3)], ids=["snapshot", "plan"])
def test_scanning_a_snapshot_or_a_plan_loads_no_cloud_or_database_sdk(target: Path, exit_code: int) -> None:
    done = run_python("import sys; from phigate.cli import main; "
                      "code = main(['scan', sys.argv[1], '--quiet', '--format', 'json=' + sys.argv[2]]); "
                      + LOADED + "print(code, loaded)", str(target), "/dev/null")
    assert done.stdout.strip().splitlines()[-1] == f"{exit_code} []", done.stderr


def test_scan_help_lists_every_format_and_every_provider_option_without_loading_a_provider() -> None:
    done = run_python("import sys, contextlib\nfrom phigate.cli import main\n"
                      "with contextlib.suppress(SystemExit): main(['scan', '--help'])\n"
                      + LOADED + "providers = sorted(m for m in sys.modules if m.endswith('.provider'))\n"
                      "print('LOADED', loaded, providers)")
    help_text, _, loaded = done.stdout.rpartition("LOADED ")
    assert loaded.strip() == "[] []", done.stderr
    flags = [o.flag for name in registry.names(registry.PROVIDERS)
             for o in registry.provider_spec(name).options]
    assert {"--region", "--project", "--dsn", "--tf-dir", "--inventory", "--sample-content"} <= set(flags)
    assert all(flag in help_text for flag in flags), [f for f in flags if f not in help_text]
    assert all(name in help_text for name in registry.names(registry.REPORTERS))
    assert "aws provider (phigate[aws])" in help_text


def test_an_option_of_a_provider_whose_sdk_is_missing_says_what_to_install() -> None:
    blocked = "import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None; "
    done = run_python(blocked + "from phigate.cli import main; "
                      "sys.exit(main(['scan', '--provider', 'aws', '--region', 'eu-west-3']))")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --region belongs to the aws provider: install phigate[aws] "
                                   "to use it")
    named = run_python(blocked + "from phigate.cli import main; sys.exit(main(['scan', '--provider', 'aws']))")
    assert named.returncode == 2 and "install phigate[aws]" in named.stderr and "Traceback" not in named.stderr


# --- plugins of a third party -------------------------------------------------------------------

@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str, str], None]]:
    """Registers ``name`` → ``tests.contract_plugins:ATTR`` in an entry-point group."""
    extra: dict[str, dict[str, EntryPoint]] = {}
    real = registry._group

    def group(name: str) -> dict[str, EntryPoint]:
        return dict(sorted({**real(name), **extra.get(name, {})}.items()))

    def register(group_name: str, name: str, attr: str) -> None:
        extra.setdefault(group_name, {})[name] = EntryPoint(
            name, f"{contract_plugins.__name__}:{attr}", group_name)

    monkeypatch.setattr(registry, "_group", group)
    yield register
    registry.load.cache_clear()
    registry.provider_spec.cache_clear()


def test_a_provider_is_configured_from_its_declared_options_its_section_and_the_run_config(
        plugins: Callable[[str, str, str], None], cli: Callable[..., CliResult], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    plugins(registry.PROVIDERS, "recording", "Recording")
    config = tmp_path / "phigate.yaml"
    config.write_text("classification:\n  names:\n    - {pattern: '^notes', data_class: clinical}\n"
                      "providers:\n  recording: {shop: main-street}\n")
    contract_plugins.Recording.configured.clear()
    with pytest.raises(SystemExit):
        cli("scan", "--help")
    assert "--widget-shop" in capsys.readouterr().out
    result = cli("scan", "--provider", "recording", "--widgets", "3", "--widget-shop", "a",
                 "--widget-shop", "b", "--region", "eu-west-3", "--config", str(config), "--quiet")
    assert result.code == 0, result.err
    [context] = contract_plugins.Recording.configured
    assert dict(context.options) == {"widgets": 3, "widget_shop": ["a", "b"]}  # its own, as given
    assert dict(context.settings) == {"shop": "main-street"}
    assert context.config.source == str(config)
    from phigate.api import Resource

    notes = Resource(id="b", type="t", kind="object_store", provider="recording", name="notes-2024")
    assert context.classify(notes) == "clinical"  # the run's classification, not the defaults


@pytest.mark.parametrize(("attr", "reason"), [
    ("ArgparseStyle", "'configure' does not take (targets, context)"),
    ("HookNotCallable", "the optional hook 'restrict' is not callable"),
    ("NoCollect", "'collect' is missing or not callable"),
    ("SPEC", "it is a ProviderSpec, not a provider class"),
])
def test_a_provider_that_breaks_its_contract_is_refused_as_a_broken_plugin(
        plugins: Callable[[str, str, str], None], cli: Callable[..., CliResult], attr: str,
        reason: str) -> None:
    plugins(registry.PROVIDERS, "thirdparty", attr)
    result = cli("scan", "--provider", "thirdparty", "--quiet")
    assert result.code == 2
    assert "'thirdparty' is a broken plugin" in result.err and reason in result.err
    assert "Traceback" not in result.err


def test_a_reporter_that_breaks_its_contract_is_refused_before_the_scan(
        plugins: Callable[[str, str, str], None], cli: Callable[..., CliResult]) -> None:
    plugins(registry.REPORTERS, "mute", "ReporterWithoutRender")
    result = cli("scan", str(SNAPSHOT), "--format", "mute", "--quiet")
    assert result.code == 2 and result.out == ""
    assert "'mute' is a broken plugin" in result.err and "'render' is missing" in result.err


def test_a_run_context_takes_the_command_line_over_the_config_section() -> None:
    context = run_context(options={"region": ["eu-west-3"], "workers": None},
                            settings={"regions": ["us-east-1"], "workers": 4})
    assert context.option("region", "regions") == ["eu-west-3"]
    assert context.option("workers", "workers") == 4  # not given on the command line
    assert context.option("profile", "profile") is None


def test_every_bundled_provider_and_reporter_honours_its_contract() -> None:
    from phigate.api import provider_problems
    from phigate.reporters import Reporter

    for name in registry.names(registry.PROVIDERS):
        assert provider_problems(registry.load(registry.PROVIDERS, name)) == [], name
    for name in registry.names(registry.REPORTERS):
        assert isinstance(registry.load(registry.REPORTERS, name)(), Reporter), name
