"""Every `--output-format`, pinned by golden files over a fixed broken handbook.

The handbook is `tests/golden/handbook/`; the expected outputs are beside it in
`tests/golden/expected/`. After an intended change to a message or a format, rewrite
them with

    INFRALENS_UPDATE_GOLDEN=1 pytest tests/test_reporters.py

and review the diff.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest

from tests.helpers_cli import GOLDEN, REPO, base_env, copy_golden_handbook, infralens
from validators.diagnostics import Finding, Severity
from validators.registry import all_rules
from validators.reporters import REPORTERS, Report, github, text

EXPECTED = GOLDEN / "expected"
UPDATE = os.environ.get("INFRALENS_UPDATE_GOLDEN") == "1"
VERSION_PLACEHOLDER = "0.0.0-golden"

FORMATS = {
    "text": ("text.txt", ["--color", "never"]),
    "text-color": ("text-color.txt", ["--color", "always"]),
    "json": ("json.json", ["--output-format", "json"]),
    "github": ("github.txt", ["--output-format", "github"]),
    "sarif": ("sarif.json", ["--output-format", "sarif"]),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each format's stdout over one copy of the golden handbook."""
    root = copy_golden_handbook(tmp_path_factory.mktemp("golden") / "handbook")
    found = {}
    for name, (_, flags) in FORMATS.items():
        done = infralens(root, "check", "--no-exec", *flags)
        assert done.returncode == 1, done.stderr
        assert done.stderr == ""
        found[name] = done.stdout
    return found


def _pinned(name: str, output: str) -> str:
    """The output with what changes between releases (the version) held still."""
    if name == "sarif":
        return output.replace(
            f'"version": "{version("infralens")}"',
            f'"version": "{VERSION_PLACEHOLDER}"',
        )
    return output


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_output_matches_golden(name: str, outputs: dict[str, str]) -> None:
    path = EXPECTED / FORMATS[name][0]
    actual = _pinned(name, outputs[name])
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8", newline="")
    assert path.read_text("utf-8") == actual, (
        f"{name} output changed; if intended, rerun with INFRALENS_UPDATE_GOLDEN=1"
    )


def test_every_format_reports_the_same_findings(outputs: dict[str, str]) -> None:
    findings = json.loads(outputs["json"])["findings"]
    located = [(f["path"], f["line"], f["column"], f["code"]) for f in findings]
    assert len(located) >= 8
    assert located == sorted(located)
    sarif = json.loads(outputs["sarif"])["runs"][0]["results"]
    assert [
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
            r["ruleId"],
        )
        for r in sarif
    ] == located
    annotations = outputs["github"].splitlines()
    assert len(annotations) == len(located)
    for (path, line, column, code), annotation in zip(
        located, annotations, strict=True
    ):
        assert annotation.startswith(
            (
                f"::error file={path},line={line},col={column},title={code} ",
                f"::warning file={path},line={line},col={column},title={code} ",
            )
        )
    lines = outputs["text"].splitlines()
    for path, line, column, code in located:
        assert any(row.startswith(f"{path}:{line}:{column}: {code} ") for row in lines)


def test_sarif_is_valid_sarif_2_1_0(outputs: dict[str, str]) -> None:
    schema = json.loads(
        (REPO / "tests/data/sarif-schema-2.1.0.json").read_text("utf-8")
    )
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    document = json.loads(outputs["sarif"])
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)
    ]
    assert errors == []
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(
        {r["ruleId"] for r in run["results"]}
    )
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    for rule in rules:
        documented = all_rules()[rule["id"]]
        assert rule["help"]["text"].startswith(documented.summary)
        assert documented.why in rule["help"]["markdown"]
        assert "Fails" in rule["help"]["markdown"]
        assert "Passes" in rule["help"]["markdown"]


def test_json_matches_its_documented_schema(outputs: dict[str, str]) -> None:
    schema = json.loads(
        (REPO / "tests/data/infralens-report-v1.schema.json").read_text("utf-8")
    )
    document = json.loads(outputs["json"])
    jsonschema.Draft202012Validator(schema).validate(document)
    summary = document["summary"]
    severities = [f["severity"] for f in document["findings"]]
    assert summary["errors"] == severities.count("error")
    assert summary["warnings"] == severities.count("warning")


def test_text_shows_the_source_line_and_a_caret_under_the_column(
    outputs: dict[str, str],
) -> None:
    lines = outputs["text"].splitlines()
    head = next(i for i, row in enumerate(lines) if ": IL302 " in row)
    column = int(lines[head].split(":")[2])
    source, caret = lines[head + 2], lines[head + 3]
    gutter = source.index("| ") + 2
    assert "[^gshard]" in source
    assert caret.index("^") - gutter == column - 1
    assert source[gutter + column - 1 :].startswith("[^gshard]")
    assert "\033[" not in outputs["text"]
    assert "\033[31mIL302\033[0m" in outputs["text-color"]


def _run_in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """What a command prints when its standard output is a terminal."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        args, cwd=cwd, env=env, stdout=follower, stderr=subprocess.DEVNULL
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8")


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    root = copy_golden_handbook(tmp_path / "handbook")
    command = [sys.executable, "-m", "validators", "check", "--no-exec"]
    env = base_env()
    env.pop("NO_COLOR")
    assert "\033[" in _run_in_terminal(command, root, env)
    assert "\033[" not in _run_in_terminal(command, root, {**env, "NO_COLOR": "1"})
    piped = infralens(root, "check", "--no-exec", env=env)
    assert piped.stdout
    assert "\033[" not in piped.stdout


def test_clean_run_in_every_format(tmp_path: Path) -> None:
    from tests.helpers_cli import write_handbook

    root = write_handbook(tmp_path)
    assert infralens(root, "check", "--no-exec").stdout.startswith("All checks passed")
    sarif = json.loads(
        infralens(root, "check", "--no-exec", "--output-format", "sarif").stdout
    )
    assert sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["tool"]["driver"]["rules"] == []
    assert (
        infralens(root, "check", "--no-exec", "--output-format", "github").stdout == ""
    )
    document = json.loads(
        infralens(root, "check", "--no-exec", "--output-format", "json").stdout
    )
    assert document["findings"] == []
    assert document["summary"]["files_checked"] == 2


def test_github_escapes_properties_and_data() -> None:
    finding = Finding(
        "content/labs/a,b:c.md",
        3,
        4,
        "IL301",
        "100% wrong\nsecond",
        Severity.WARNING,
        hint="fix: it",
        name="claim-uncited",
    )
    assert github.annotation(finding) == (
        "::warning file=content/labs/a%2Cb%3Ac.md,line=3,col=4,"
        "title=IL301 claim-uncited::100%25 wrong%0Asecond (fix: it)"
    )


def test_reporters_write_notes(tmp_path: Path) -> None:
    report = Report(
        [], 0, all_rules(), tmp_path, notes=["starter `x` not run: torch missing"]
    )
    streams = {}
    for name, write in REPORTERS.items():
        streams[name] = io.StringIO()
        write(report, streams[name])
    assert "note: starter `x` not run" in streams["text"].getvalue()
    assert (
        "::notice title=infralens::starter `x` not run" in streams["github"].getvalue()
    )
    assert json.loads(streams["json"].getvalue())["notes"] == report.notes
    notifications = json.loads(streams["sarif"].getvalue())["runs"][0]["invocations"][0]
    assert (
        notifications["toolExecutionNotifications"][0]["message"]["text"]
        == report.notes[0]
    )


@pytest.mark.parametrize(
    ("line", "column", "padding"),
    [
        ("abc", 3, "  "),
        ("\tx = 1", 2, "\t"),
        ("表x", 2, "  "),
        ("e\u0301x", 3, " "),
        ("", 5, ""),
    ],
)
def test_caret_padding(line: str, column: int, padding: str) -> None:
    assert text.caret_padding(line, column) == padding
