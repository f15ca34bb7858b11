"""What a run works on: the providers its targets and names choose, and the policies its
patterns and opt-in rules keep.

``phigate scan``, ``phigate audit``, ``pytest --phigate`` and :mod:`phigate.testing` choose
through these functions, so one selection means the same everywhere; only the words of the
"nothing to scan" message differ (each names its own options).
"""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from phigate.api import InputError, Provider, RunContext
from phigate.classify import Classifier
from phigate.config import Config
from phigate.frameworks import control_problems, load_frameworks, select
from phigate.load import bundled_pack, load_policies
from phigate.model import Policy
from phigate.optin import asked_for, live_providers, sampling_requested
from phigate.problems import ProblemsError
from phigate.registry import PROVIDERS, BrokenPlugin, MissingPlugin, load, names, provider_spec
from phigate.result import Framework

NOTHING_TO_SCAN = "nothing to scan: give a TARGET, --provider NAME, or providers in the config"


class SelectionError(InputError):
    """A selection that cannot be honoured (nothing to scan, a pattern matching nothing)."""


class NothingToScan(SelectionError):
    """No target, no provider named, none in the config file."""


def claims(name: str, target: str) -> bool:
    """Whether provider ``name`` reads ``target`` (by content); an uninstalled one reads nothing,
    and one that takes no TARGET (a live provider) is not even loaded."""
    if not provider_spec(name).takes_targets:
        return False
    try:
        return bool(load(PROVIDERS, name).claims(target))
    except BrokenPlugin:
        raise
    except MissingPlugin:
        return False


def claimant(target: str) -> str | None:
    """The first installed provider that claims ``target``, if any."""
    return next((name for name in names(PROVIDERS) if claims(name, target)), None)


def build_providers(targets: Sequence[str], wanted: Sequence[str], options: Mapping[str, Any] | None,
                    config: Config, *, nothing: str = NOTHING_TO_SCAN) -> list[Provider]:
    """Targets go to the provider that claims them; ``wanted`` (named providers) and, failing
    both, the config file's ``providers`` section add live ones, each configured from its
    section. ``options`` are the command line's values by ``Option.dest`` (each provider is given
    those it declares); None: no option given. Every provider is given ``config`` and its
    classifier: the run's, which the engine applies too. ``nothing`` is the message when no
    provider is chosen."""
    claimed: dict[str, list[str]] = {}
    for target in targets:
        if not Path(target).exists():
            raise SelectionError(f"{target}: no such file or folder")
        owner = claimant(target)
        if owner is None:
            raise SelectionError(f"{target}: not a phigate snapshot or a Terraform plan "
                                 "(see `phigate schema snapshot`)")
        claimed.setdefault(owner, []).append(target)
    chosen = list(dict.fromkeys([*claimed, *wanted])) or list(config.providers)
    if not chosen:
        raise NothingToScan(nothing)
    classifier = Classifier(config)
    instances: list[Provider] = []
    for name in chosen:
        provider_class = load(PROVIDERS, name)
        given = {o.dest: options[o.dest] for o in provider_spec(name).options
                 if options is not None and options.get(o.dest) is not None}
        context = RunContext(config, classifier, given, config.providers.get(name, {}))
        instances.extend(provider_class.configure(claimed.get(name, []), context))
    return instances


def run_context(config: Config | None = None, *, options: Mapping[str, Any] | None = None,
                settings: Mapping[str, Any] | None = None) -> RunContext:
    """A provider's context for ``config`` (default: no config file, every default)."""
    config = config if config is not None else Config()
    return RunContext(config, Classifier(config), dict(options or {}), dict(settings or {}))


def asked_by_run(only: Sequence[str], named: Sequence[str], targets: Sequence[str], config: Config,
                 sampling_flag: object = None) -> Callable[[Policy], bool]:
    """Which policies the run asks for (opt-in ones only when asked; see :mod:`phigate.optin`):
    content sampling comes from ``sampling_flag`` (``--sample-content``) when given, else from the
    config sections of the providers the run collects from by name."""
    sampling = sampling_requested(sampling_flag, config, live_providers(named, targets, config))
    return lambda policy: asked_for(policy, only, config, sampling)


def select_policies(policies: Sequence[Policy], only: Iterable[str], skip: Iterable[str] = (), *,
                    asked: Callable[[Policy], bool] | None = None,
                    allow_empty: bool = False) -> list[Policy]:
    """The policies whose id matches one of ``only`` (globs; none: every policy), none of
    ``skip``, and, unless ``asked`` is None (listing), that the run asks for. A pattern matching
    nothing is an error, so a gate never weakens because of a typo; so is an empty selection
    unless ``allow_empty``."""
    patterns, skipped = list(only), list(skip)
    for pattern in [*patterns, *skipped]:
        if not any(fnmatch.fnmatchcase(p.id, pattern) for p in policies):
            raise SelectionError(f"no loaded policy matches '{pattern}'")
    matched = [p for p in policies
               if (not patterns or any(fnmatch.fnmatchcase(p.id, o) for o in patterns))
               and not any(fnmatch.fnmatchcase(p.id, s) for s in skipped)]
    chosen = [p for p in matched if asked is None or asked(p)]
    if not chosen and not allow_empty:
        left = [p.id for p in matched if p.opt_in]
        hint = (f" ({', '.join(left)} opt-in: name it exactly in --only or enable it in the config)"
                if left else "")
        raise SelectionError(f"the selection leaves no policy to evaluate{hint}")
    return chosen


def policies_for(args: argparse.Namespace, config: Config, *, listing: bool = False) -> list[Policy]:
    """The policies a command works on (``--policies``, ``--only``, ``--skip``); ``listing``
    keeps opt-in policies nobody asked for."""
    loaded = load_policies(args.policies or [bundled_pack()], config)
    check_controls(loaded)
    asked = None if listing else asked_by_run(args.only, getattr(args, "provider", []),
                                              getattr(args, "targets", []), config,
                                              getattr(args, "sample_content", None))
    return select_policies(loaded, args.only, args.skip, asked=asked)


def check_controls(policies: Sequence[Policy]) -> None:
    """Refuse policies mapped to frameworks or controls the catalogues do not know."""
    problems = control_problems(policies, load_frameworks())
    if problems:
        raise ProblemsError(problems)


def providers_for(args: argparse.Namespace, config: Config) -> list[Provider]:
    """A command's providers: its targets' claimants, ``--provider`` names, else the config's."""
    return build_providers(args.targets, args.provider, vars(args), config)


def for_frameworks(policies: list[Policy], keys: Sequence[str],
                   frameworks: Mapping[str, Framework]) -> list[Policy]:
    """The policies mapped to one of the frameworks ``keys`` (``--framework``; none: all)."""
    if not keys:
        return policies
    try:
        chosen = select(policies, list(keys), frameworks)
    except KeyError as exc:
        raise SelectionError(f"unknown framework {exc.args[0]} (known: {', '.join(frameworks)}; "
                             "an unversioned name such as hds stands for its only version)") from None
    if not chosen:
        raise SelectionError(f"no selected policy maps to {', '.join(keys)}")
    return chosen


__all__ = ["NOTHING_TO_SCAN", "NothingToScan", "SelectionError", "asked_by_run", "build_providers",
           "claimant", "claims", "for_frameworks", "policies_for", "providers_for", "run_context",
           "select_policies"]
