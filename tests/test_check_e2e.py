"""`infralens check` end to end on a copy of the real content, broken each way the
pipeline exists to catch: exit code, file, line, and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import HANDBOOK, LAB, STARTER, CliResult, run_cli


def finding_lines(result: CliResult) -> list[tuple[str, int, str]]:
    pattern = re.compile(
        r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>IL\d{3}) ",
        re.MULTILINE,
    )
    return [
        (m["path"], int(m["line"]), m["code"]) for m in pattern.finditer(result.stdout)
    ]


def assert_clean_failure(result: CliResult) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_repository_is_clean(repo: Path) -> None:
    result = run_cli("check", "--no-exec", "--strict", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed (2 pages checked)." in result.stdout


def test_edited_excerpt_line_is_reported_and_fixed(repo: Path) -> None:
    starter, page = repo / STARTER, repo / LAB
    original_page = page.read_bytes()
    needle = 'return np.argsort(-probs, axis=1, kind="stable")[:, :k]'
    replace_once(starter, needle, needle + "  # edited")
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    assert (LAB, line_of(page, needle), "IL201") in finding_lines(result)

    fixed = run_cli("check", "--no-exec", "--fix", cwd=repo)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    before, after = (
        original_page.decode().split("\n"),
        page.read_text("utf-8").split("\n"),
    )
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        ("    " + needle.strip(), "    " + needle.strip() + "  # edited")
    ]
    again = run_cli("check", "--no-exec", "--fix", cwd=repo)
    assert again.returncode == 0
    assert page.read_text("utf-8").split("\n") == after


def test_deleted_starter_is_reported_at_its_key_and_excerpts(repo: Path) -> None:
    (repo / STARTER).unlink()
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    found = finding_lines(result)
    assert (LAB, line_of(repo / LAB, f"- path: {STARTER}"), "IL101") in found
    assert (
        LAB,
        line_of(repo / LAB, f"source={STARTER} region=select"),
        "IL202",
    ) in found


def test_bullet_without_citation_is_reported(repo: Path) -> None:
    page = repo / LAB
    line = line_of(page, "- With expert parallelism each rank owns whole experts")
    text = page.read_text("utf-8")
    start = text.index("- With expert parallelism each rank owns whole experts")
    end = text.index("\n- ", start + 1)
    bullet = text[start:end]
    page.write_text(text.replace(bullet, re.sub(r"\[\^[^\]]+\]", "", bullet)), "utf-8")
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    assert (LAB, line, "IL301") in finding_lines(result)


def test_citation_naming_no_reference_is_reported(repo: Path) -> None:
    page = repo / LAB
    replace_once(
        page,
        "travel\n  there.[^megatron-moe-readme]",
        "travel\n  there.[^no-such-reference][^megatron-moe-readme]",
    )
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    assert (LAB, line_of(page, "[^no-such-reference]"), "IL302") in finding_lines(
        result
    )


def test_duplicate_frontmatter_key_is_reported_at_the_second_key(repo: Path) -> None:
    page = repo / LAB
    replace_once(
        page,
        "title: Expert Parallel Routing\n",
        "title: Expert Parallel Routing\ntitle: Again\n",
    )
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    assert (LAB, line_of(page, "title: Again"), "IL003") in finding_lines(result)


def test_broken_yaml_is_reported_at_its_line(repo: Path) -> None:
    page = repo / LAB
    replace_once(page, "number: 6\n", "number: [6\n")
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    found = finding_lines(result)
    assert [code for path, _, code in found if path == LAB] == ["IL002"]
    assert found[0][1] in {line_of(page, "number: [6"), line_of(page, "number: [6") + 1}


def test_handbook_page_is_held_to_the_same_rules(repo: Path) -> None:
    page = repo / HANDBOOK
    text = page.read_text("utf-8")
    first_citation = re.search(r"\[\^[a-z0-9-]+\]", text[text.index("\n- ") :])
    assert first_citation is not None
    page.write_text(text.replace(first_citation.group(0), "[^unknown-ref]", 1), "utf-8")
    result = run_cli("check", "--no-exec", cwd=repo)
    assert_clean_failure(result)
    assert any(
        path == HANDBOOK and code == "IL302" for path, _, code in finding_lines(result)
    )


def test_starter_path_selects_the_pages_that_depend_on_it(repo: Path) -> None:
    replace_once(repo / STARTER, 'kind="stable")[:, :k]', 'kind="stable")[:, :k]  # x')
    result = run_cli("check", "--no-exec", STARTER, cwd=repo)
    assert_clean_failure(result)
    assert {path for path, _, _ in finding_lines(result)} == {LAB}
    assert "1 page" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--no-such-flag"], "unrecognized arguments"),
        (["check", "no/such/path.md"], "does not exist"),
        (["rule", "IL999"], "unknown rule"),
    ],
)
def test_usage_errors_exit_2(repo: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, cwd=repo)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_json_output_is_machine_readable(repo: Path) -> None:
    import json

    replace_once(repo / LAB, "number: 6\n", "number: six\n")
    result = run_cli("check", "--no-exec", "--output-format", "json", cwd=repo)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["summary"]["errors"] >= 1
    first = document["findings"][0]
    assert (first["path"], first["code"]) == (LAB, "IL006")
    assert first["line"] == line_of(repo / LAB, "number: six")
