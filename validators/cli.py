"""The `infralens` command.

Exit codes: 0 no error found; 1 an error was found (warnings too under `--strict`);
2 a usage error (unknown flag, missing path, bad configuration) or a crash.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from validators import engine
from validators.config import (
    Config,
    ConfigError,
    ExecutionConfig,
    load_config,
    unknown_code,
)
from validators.fix import fix_page
from validators.project import load_project
from validators.registry import all_rules
from validators.reporters import REPORTERS, Report

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Something on the command line is wrong (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infralens", description="Keep every word and line of the handbook true."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check", help="check pages, starters, excerpts, citations and links"
    )
    check.add_argument(
        "paths",
        nargs="*",
        help="pages, or files pages depend on (default: the whole repository)",
    )
    check.add_argument(
        "--fix",
        action="store_true",
        help="rewrite excerpts and Further reading from their sources",
    )
    check.add_argument("--output-format", choices=sorted(REPORTERS), default="text")
    check.add_argument(
        "--strict", action="store_true", help="warnings fail the run too"
    )
    check.add_argument(
        "--no-exec",
        action="store_true",
        help="do not run starters or their invariant checks",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="run starters even when a cached result exists",
    )
    check.add_argument(
        "--require-all",
        action="store_true",
        help="a starter that cannot run here is an error",
    )
    check.add_argument(
        "--select",
        help="comma-separated codes or prefixes to run (overrides configuration)",
    )
    check.add_argument(
        "--ignore",
        help="comma-separated codes or prefixes to skip (added to configuration)",
    )
    check.add_argument(
        "--timeout", type=float, help="seconds allowed for one starter or check run"
    )
    check.add_argument("--jobs", type=int, help="parallel runs (default: one per CPU)")
    _common(check)
    audit = commands.add_parser("audit", help="report on the whole corpus for editors")
    audit.add_argument(
        "--format", choices=["terminal", "markdown", "json", "html"], default="terminal"
    )
    audit.add_argument("--output", type=Path, help="write the report to this file")
    audit.add_argument(
        "--fail-on",
        default="",
        help="comma-separated finding kinds that make the audit exit 1",
    )
    audit.add_argument(
        "--no-exec",
        action="store_true",
        help="report execution status from the cache only",
    )
    _common(audit)
    rule = commands.add_parser("rule", help="explain a rule")
    rule.add_argument("code", nargs="?", help="a rule code such as IL201")
    rule.add_argument("--all", action="store_true", help="list every rule")
    _common(rule)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        help="repository root (default: found from the current folder)",
    )
    parser.add_argument(
        "--config", type=Path, help="a TOML file with the [tool.infralens] table"
    )
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")


def find_root(start: Path) -> Path:
    for folder in [start, *start.parents]:
        if (folder / "content").is_dir() or _declares_infralens(
            folder / "pyproject.toml"
        ):
            return folder
    return start


def _declares_infralens(path: Path) -> bool:
    try:
        return "[tool.infralens" in path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def use_color(choice: str, stream: object) -> bool:
    if choice != "auto":
        return choice == "always"
    return not os.environ.get("NO_COLOR") and bool(
        getattr(stream, "isatty", lambda: False)()
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "rule":
            return explain(args)
        if args.command == "audit":
            from validators.audit.cli import run_audit

            return run_audit(args)
        return check(args)
    except (UsageError, ConfigError) as error:
        print(f"infralens: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like
        return EXIT_OK
    except Exception as error:
        print(
            f"infralens: internal error: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        if os.environ.get("INFRALENS_DEBUG"):
            traceback.print_exc()
        return EXIT_USAGE


def resolve_args(args: argparse.Namespace) -> tuple[Path, Config, list[str]]:
    root = (args.root or find_root(Path.cwd())).resolve()
    if not root.is_dir():
        raise UsageError(f"root `{root}` is not a folder")
    config = load_config(root, args.config)
    relative = []
    for raw in getattr(args, "paths", []):
        path = (
            Path(raw).resolve()
            if Path(raw).is_absolute()
            else (Path.cwd() / raw).resolve()
        )
        if not path.exists() and not (root / raw).exists():
            raise UsageError(f"path `{raw}` does not exist")
        if not path.exists():
            path = (root / raw).resolve()
        if not path.is_relative_to(root):
            raise UsageError(f"path `{raw}` is outside the repository `{root}`")
        relative.append(path.relative_to(root).as_posix() or ".")
    return root, _override(config, args), relative


def _override(config: Config, args: argparse.Namespace) -> Config:
    update: dict[str, object] = {}
    if getattr(args, "select", None):
        update["select"] = _codes(args.select)
    if getattr(args, "ignore", None):
        update["ignore"] = [*config.ignore, *_codes(args.ignore)]
    execution: dict[str, object] = {}
    if getattr(args, "timeout", None) is not None:
        execution["timeout_s"] = args.timeout
    if getattr(args, "jobs", None) is not None:
        execution["jobs"] = max(args.jobs, 0)
    if execution:
        try:
            update["execution"] = ExecutionConfig.model_validate(
                {**config.execution.model_dump(), **execution}
            )
        except ValidationError as error:
            raise UsageError(
                "--timeout must be positive and at most 600 seconds"
            ) from error
    return config.model_copy(update=update)


def _codes(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    for part in parts:
        if not re.fullmatch(r"IL[0-9]{0,3}", part):
            raise UsageError(
                f"`{part}` is not a rule code or prefix such as IL3 or IL301"
            )
        problem = unknown_code(part)
        if problem:
            raise UsageError(problem)
    return parts


def check(args: argparse.Namespace) -> int:
    root, config, paths = resolve_args(args)
    if paths == ["."]:
        paths = []
    if args.fix:
        _apply_fixes(root, config, paths)
    options = engine.Options(
        execute=not args.no_exec,
        use_cache=not args.no_cache,
        require_all=args.require_all,
        jobs=config.execution.jobs,
    )
    outcome = engine.run(root, config, paths, options)
    report = Report(
        outcome.findings,
        len(outcome.checked),
        all_rules(),
        root,
        color=use_color(args.color, sys.stdout),
        notes=run_notes(outcome.runs),
    )
    REPORTERS[args.output_format](report, sys.stdout)
    failing = report.errors + (report.warnings if args.strict else 0)
    return EXIT_FINDINGS if failing else EXIT_OK


def run_notes(runs: list[engine.RunRecord]) -> list[str]:
    notes = [run.note for run in runs if run.note]
    executed = [run for run in runs if run.status != "not-run"]
    if executed:
        cached = sum(run.cached for run in executed)
        notes.append(f"execution: {len(executed)} runs, {cached} from cache")
    return notes


def _apply_fixes(root: Path, config: Config, paths: list[str]) -> None:
    project = load_project(root, config)
    for path in engine.select_pages(project, paths):
        result = fix_page(project.pages[path], project)
        if result.changed:
            print(f"fixed {result.path}", file=sys.stderr)
        elif result.problem:
            print(f"{result.path}: {result.problem}", file=sys.stderr)


def explain(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.all or not args.code:
        for code, rule in rules.items():
            print(f"{code}  {rule.name:<28} {rule.severity.value:<8} {rule.summary}")
        return EXIT_OK
    rule = rules.get(args.code.upper())
    if rule is None:
        raise UsageError(
            f"unknown rule `{args.code}`; `infralens rule --all` lists them"
        )
    print(f"{rule.code} {rule.name} ({rule.severity.value} by default)\n")
    print(f"What it checks\n  {rule.summary}\n")
    print(f"Why it matters\n  {rule.why}\n")
    if rule.fails:
        print("Fails\n" + _indent(rule.fails))
    if rule.passes:
        print("Passes\n" + _indent(rule.passes))
    return EXIT_OK


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())
