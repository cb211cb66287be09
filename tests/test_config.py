"""`[tool.infralens]` through the CLI, on a copy of the repository broken on purpose."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.helpers_cli import copy_repo, infralens, set_config

LAB = "content/labs/lab-06-expert-parallel-routing.md"
HANDBOOK = "content/handbook/expert-parallel-routing.md"
UNCITED = "- Every expert always receives exactly the same number of tokens."
UNKNOWN = "- Experts live on ranks.[^no-such-reference]"


def _insert_after_heading(path: Path, heading: str, lines: list[str]) -> list[int]:
    """Put ``lines`` right below ``heading`` (and its blank line); their line numbers."""
    text = path.read_text("utf-8").split("\n")
    at = text.index(heading) + 2
    text[at:at] = [*lines, ""]
    path.write_text("\n".join(text), "utf-8")
    return list(range(at + 1, at + 1 + len(lines)))


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A copy of the repository whose lab has an uncited claim (IL301) and an unknown
    citation (IL302) in its Mental model, and whose handbook page has an uncited claim."""
    root = copy_repo(tmp_path_factory.mktemp("config") / "repo")
    lab_lines = _insert_after_heading(root / LAB, "## Mental model", [UNCITED, UNKNOWN])
    handbook = root / HANDBOOK
    first_section = next(
        line
        for line in handbook.read_text("utf-8").split("\n")
        if line.startswith("## ")
    )
    (handbook_line,) = _insert_after_heading(handbook, first_section, [UNCITED])
    lines = {
        "lab-il301": lab_lines[0],
        "lab-il302": lab_lines[1],
        "handbook": handbook_line,
    }
    return root, lines


@pytest.fixture
def repo(broken: tuple[Path, dict[str, int]]) -> Path:
    """The broken copy with the configuration of the test (reset for each)."""
    root, _ = broken
    set_config(root, "[tool.infralens]")
    for extra in root.glob("*.toml"):
        if extra.name != "pyproject.toml":
            extra.unlink()
    return root


@pytest.fixture
def lines(broken: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return broken[1]


def check(root: Path, *flags: str) -> tuple[int, set[tuple[str, int, str, str]]]:
    done = infralens(root, "check", "--no-exec", "--output-format", "json", *flags)
    assert done.returncode in {0, 1}, done.stderr
    findings = json.loads(done.stdout)["findings"]
    return done.returncode, {
        (f["path"], f["line"], f["code"], f["severity"]) for f in findings
    }


def error(root: Path, *flags: str) -> str:
    done = infralens(root, "check", "--no-exec", *flags)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    return done.stderr


def test_defaults_report_every_planted_problem(
    repo: Path, lines: dict[str, int]
) -> None:
    code, found = check(repo)
    assert code == 1
    assert found == {
        (LAB, lines["lab-il301"], "IL301", "error"),
        (LAB, lines["lab-il302"], "IL302", "error"),
        (HANDBOOK, lines["handbook"], "IL301", "error"),
    }


def test_ignore_by_prefix(repo: Path) -> None:
    set_config(repo, '[tool.infralens]\nignore = ["IL3"]')
    assert check(repo) == (0, set())


def test_longest_prefix_wins(repo: Path, lines: dict[str, int]) -> None:
    set_config(repo, '[tool.infralens]\nselect = ["IL", "IL301"]\nignore = ["IL3"]')
    code, found = check(repo)
    assert code == 1
    assert {(path, line, rule) for path, line, rule, _ in found} == {
        (LAB, lines["lab-il301"], "IL301"),
        (HANDBOOK, lines["handbook"], "IL301"),
    }


def test_select_only(repo: Path, lines: dict[str, int]) -> None:
    set_config(repo, '[tool.infralens]\nselect = ["IL302"]')
    assert check(repo) == (1, {(LAB, lines["lab-il302"], "IL302", "error")})


def test_per_file_ignores(repo: Path, lines: dict[str, int]) -> None:
    set_config(
        repo, '[tool.infralens.per_file_ignores]\n"content/labs/*.md" = ["IL301"]'
    )
    _, found = check(repo)
    assert {(path, rule) for path, _, rule, _ in found} == {
        (LAB, "IL302"),
        (HANDBOOK, "IL301"),
    }


def test_severity_override_and_strict(repo: Path) -> None:
    set_config(
        repo,
        '[tool.infralens]\nseverity = { IL301 = "warning", IL302 = "warning" }',
    )
    code, found = check(repo)
    assert code == 0
    assert {severity for *_, severity in found} == {"warning"}
    assert len(found) == 3
    assert check(repo, "--strict")[0] == 1


def test_claim_sections(repo: Path, lines: dict[str, int]) -> None:
    set_config(repo, '[tool.infralens.claim_sections]\nlabs = ["what-to-notice"]')
    _, found = check(repo)
    # The Mental model no longer bears claims; the handbook keeps its default (`*`).
    assert {(path, rule) for path, _, rule, _ in found} == {
        (LAB, "IL302"),
        (HANDBOOK, "IL301"),
    }
    set_config(repo, '[tool.infralens.claim_sections]\nhandbook = ["no-such-section"]')
    _, found = check(repo)
    assert (HANDBOOK, lines["handbook"], "IL301", "error") not in found
    assert (LAB, lines["lab-il301"], "IL301", "error") in found


def test_stale_after_days(repo: Path) -> None:
    lab = repo / LAB
    original = lab.read_text("utf-8")
    month_ago = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    lab.write_text(
        re.sub(r"checked: \d{4}-\d{2}-\d{2}", f"checked: {month_ago}", original),
        "utf-8",
    )
    try:
        set_config(repo, '[tool.infralens]\nselect = ["IL305"]')
        assert check(repo) == (0, set())
        set_config(repo, '[tool.infralens]\nselect = ["IL305"]\nstale_after_days = 10')
        code, found = check(repo)
        assert code == 0
        assert found
        assert {(path, rule, severity) for path, _, rule, severity in found} == {
            (LAB, "IL305", "warning")
        }
    finally:
        lab.write_text(original, "utf-8")


def test_execution_limits_are_validated(repo: Path) -> None:
    set_config(
        repo,
        "[tool.infralens.execution]\ntimeout_s = 30\ncpu_s = 60\nmemory_mb = 2048\n"
        "output_kib = 32\njobs = 1",
    )
    assert check(repo)[0] == 1
    set_config(repo, "[tool.infralens.execution]\ntimeout_s = 0")
    assert "`tool.infralens.execution.timeout_s`" in error(repo)
    set_config(repo, "[tool.infralens.execution]\nmemory_mb = -1")
    assert "`tool.infralens.execution.memory_mb`" in error(repo)
    set_config(repo, "[tool.infralens]")
    assert "--timeout must be positive" in error(repo, "--timeout", "-1")


@pytest.mark.parametrize(
    ("table", "named"),
    [
        (
            '[tool.infralens]\nselct = ["IL"]',
            "unknown key `tool.infralens.selct` (did you mean `select`?)",
        ),
        (
            "[tool.infralens]\nper-file-ignores = {}",
            "(did you mean `per_file_ignores`?)",
        ),
        (
            "[tool.infralens.execution]\ntimeout = 5",
            "unknown key `tool.infralens.execution.timeout` (did you mean `timeout_s`?)",
        ),
        (
            '[tool.infralens]\nselect = ["E501"]',
            "`tool.infralens.select[0]`: `E501` is not a rule code",
        ),
        (
            '[tool.infralens]\nseverity = { IL301 = "fatal" }',
            "`tool.infralens.severity.IL301`",
        ),
        (
            '[tool.infralens.claim_sections]\nblog = ["*"]',
            "`tool.infralens.claim_sections.blog",
        ),
        (
            '[tool.infralens]\nstale_after_days = "soon"',
            "`tool.infralens.stale_after_days`",
        ),
    ],
)
def test_bad_configuration_is_exit_2_naming_the_key(
    repo: Path, table: str, named: str
) -> None:
    set_config(repo, table)
    message = error(repo)
    assert message.startswith(
        "infralens: error: pyproject.toml: invalid configuration:"
    )
    assert named in message


def test_command_line_overrides_configuration(
    repo: Path, lines: dict[str, int]
) -> None:
    set_config(repo, '[tool.infralens]\nselect = ["IL302"]')
    _, found = check(repo, "--select", "IL301")
    assert {rule for _, _, rule, _ in found} == {"IL301"}
    set_config(repo, '[tool.infralens]\nignore = ["IL302"]')
    _, found = check(repo, "--ignore", "IL301")
    assert found == set()  # --ignore adds to the configured ignores
    set_config(repo, '[tool.infralens]\nselect = ["IL1"]')
    assert check(repo, "--select", "IL3", "--ignore", "IL301") == (
        1,
        {(LAB, lines["lab-il302"], "IL302", "error")},
    )


def test_config_file_flag(repo: Path, lines: dict[str, int]) -> None:
    (repo / "other.toml").write_text('select = ["IL302"]\n', "utf-8")
    assert check(repo, "--config", "other.toml") == (
        1,
        {(LAB, lines["lab-il302"], "IL302", "error")},
    )
    (repo / "other.toml").write_text("[tool.infralens]\nbogus = 1\n", "utf-8")
    assert "unknown key `tool.infralens.bogus`" in error(repo, "--config", "other.toml")
    assert "does not exist" in error(repo, "--config", "missing.toml")
