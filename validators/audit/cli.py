"""`infralens audit`: run the checks, read the cache, report the corpus as one whole.

Exit codes: 0 after reporting; 1 when a finding of a kind named by ``--fail-on`` is
present; 2 for a usage error (an unknown kind, an output path that cannot be
written), raised as ``UsageError`` for ``validators.cli.main`` to print.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from validators import engine
from validators.audit.build import build_audit
from validators.audit.consistency import kind_names
from validators.audit.execution_status import cache_states
from validators.audit.model import Audit
from validators.audit.render import RENDERERS
from validators.cli import EXIT_FINDINGS, EXIT_OK, UsageError, resolve_args, use_color
from validators.project import load_project


def run_audit(args: argparse.Namespace) -> int:
    fail_on = parse_kinds(args.fail_on or "")
    output: Path | None = getattr(args, "output", None)
    if output is not None and not output.parent.resolve().is_dir():
        raise UsageError(f"--output: folder `{output.parent}` does not exist")
    audit = make_audit(args)
    color = output is None and use_color(args.color, sys.stdout)
    text = RENDERERS[args.format](audit, color=color)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text)
    return EXIT_FINDINGS if fail_on & audit.kinds_present() else EXIT_OK


def parse_kinds(text: str) -> set[str]:
    """The kinds named in ``--fail-on``; an unknown one is a usage error."""
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(named - set(kind_names()))
    if unknown:
        raise UsageError(
            f"--fail-on: unknown finding kind `{'`, `'.join(unknown)}`; "
            f"known kinds: {', '.join(kind_names())}"
        )
    return named


def make_audit(args: argparse.Namespace) -> Audit:
    root, config, _ = resolve_args(args)
    project = load_project(root, config)
    executed = not getattr(args, "no_exec", False)
    options = engine.Options(execute=executed, jobs=config.execution.jobs)
    outcome = engine.check_pages(project, sorted(project.pages), options)
    # Read after the run, so results it just stored count as verified.
    cache = cache_states(project)
    return build_audit(
        project, outcome.findings, cache, executed=executed, today=dt.date.today()
    )


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    try:
        descriptor, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise UsageError(
            f"--output: cannot write into `{path.parent}`: {error}"
        ) from error
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        temporary.chmod(0o666 & ~_umask())
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"--output: cannot write `{path}`: {error}") from error


def _umask() -> int:
    # mkstemp makes the file private; the report should get the usual permissions.
    current = os.umask(0)
    os.umask(current)
    return current
