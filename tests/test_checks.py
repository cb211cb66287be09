"""Each check on a good case (the real content) and its bad cases, in process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import HANDBOOK, LAB, STARTER
from validators.config import Config
from validators.engine import Options, check_pages
from validators.project import load_project


def codes(repo: Path, **config: object) -> set[tuple[str, int, str]]:
    project = load_project(repo, Config(**config))
    outcome = check_pages(project, sorted(project.pages), Options(execute=False))
    return {(f.path, f.line, f.code) for f in outcome.findings}


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old``; return the 1-based line where it stood."""
    text = path.read_text("utf-8")
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :], "utf-8")
    return text[:index].count("\n") + 1


def test_real_content_passes_every_check(repo: Path) -> None:
    assert codes(repo) == set()


# -- loading ---------------------------------------------------------------------------


def test_page_without_frontmatter(repo: Path) -> None:
    page = repo / HANDBOOK
    page.write_text(page.read_text("utf-8").split("---\n", 2)[2], "utf-8")
    assert (HANDBOOK, 1, "IL001") in codes(repo)


def test_frontmatter_never_closed(repo: Path) -> None:
    page = repo / HANDBOOK
    text = page.read_text("utf-8")
    page.write_text(text.replace("\n---\n", "\n", 1), "utf-8")
    assert (HANDBOOK, 1, "IL001") in codes(repo)


@pytest.mark.parametrize("value", ["1.10", "0600"])
def test_retyped_scalar_is_reported(repo: Path, value: str) -> None:
    line = edit(repo / LAB, "summary: ", f"version_note: {value}\nsummary: ")
    found = codes(repo)
    assert (LAB, line, "IL005") in found


def test_schema_error_points_at_the_key(repo: Path) -> None:
    line = edit(repo / LAB, "    role: routing", "    role: routeing")
    assert (LAB, line, "IL006") in codes(repo)


def test_id_must_match_file_name(repo: Path) -> None:
    line = edit(repo / HANDBOOK, "id: expert-parallel-routing", "id: expert-routing")
    assert (HANDBOOK, line, "IL007") in codes(repo)


def test_not_utf8(repo: Path) -> None:
    page = repo / HANDBOOK
    data = page.read_bytes()
    index = data.index(b"\n# ") + 3
    page.write_bytes(data[:index] + b"\xe9" + data[index:])
    line = data[:index].count(b"\n") + 1
    assert (HANDBOOK, line, "IL008") in codes(repo)


def test_mixed_line_endings_warn(repo: Path) -> None:
    page = repo / HANDBOOK
    page.write_bytes(page.read_bytes().replace(b"\n", b"\r\n", 3))
    assert (HANDBOOK, 1, "IL009") in codes(repo)


# -- structure -------------------------------------------------------------------------


def test_unknown_handbook_section(repo: Path) -> None:
    line = edit(
        repo / LAB,
        "handbook_section: expert-parallel-routing",
        "handbook_section: nowhere",
    )
    assert (LAB, line, "IL010") in codes(repo)


def test_missing_and_reordered_sections(repo: Path) -> None:
    page = repo / LAB
    edit(page, "## Interview explanation", "## Interview answer")
    found = codes(repo)
    assert any(code == "IL011" for path, _, code in found if path == LAB)
    text = page.read_text("utf-8")
    page.write_text(
        text.replace("## Concept goal", "## Concept", 1).replace(
            "## Interview answer", "## Concept goal"
        ),
        "utf-8",
    )
    assert (
        sum(1 for path, _, code in codes(repo) if path == LAB and code == "IL011") >= 2
    )


def test_duplicate_lab_number(repo: Path) -> None:
    twin = repo / "content/labs/lab-07-twin.md"
    twin.write_text(
        (repo / LAB)
        .read_text("utf-8")
        .replace("id: lab-06-expert-parallel-routing", "id: lab-07-twin"),
        "utf-8",
    )
    found = codes(repo)
    assert any(
        path == "content/labs/lab-07-twin.md" and code == "IL012"
        for path, _, code in found
    )


# -- starters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("code/../code_private/x.py", "IL102"),
        ("/etc/passwd", "IL102"),
        ("code\\lab-06-expert-parallel-routing\\expert_routing.py", "IL102"),
        ("code/other-lab/expert_routing.py", "IL103"),
        ("code/lab-06-expert-parallel-routing/missing.py", "IL101"),
    ],
)
def test_starter_paths(repo: Path, path: str, code: str) -> None:
    line = edit(repo / LAB, f"  - path: {STARTER}", f"  - path: '{path}'")
    assert (LAB, line, code) in codes(repo)


def test_symlink_leading_out_of_code(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.py"
    outside.write_text("print('x')\n")
    link = repo / "code/lab-06-expert-parallel-routing/link.py"
    link.symlink_to(outside)
    line = edit(
        repo / LAB,
        f"  - path: {STARTER}",
        "  - path: code/lab-06-expert-parallel-routing/link.py",
    )
    assert (LAB, line, "IL102") in codes(repo)


# -- excerpts --------------------------------------------------------------------------


def test_region_missing_suggests_a_name(repo: Path) -> None:
    line = edit(repo / LAB, "region=dispatch\n", "region=disp\n")
    assert (LAB, line, "IL203") in codes(repo)


def test_excerpt_source_missing(repo: Path) -> None:
    line = edit(
        repo / LAB,
        f"source={STARTER} region=combine",
        "source=code/lab-06-expert-parallel-routing/gone.py region=combine",
    )
    assert (LAB, line, "IL202") in codes(repo)


def test_broken_region_markers_are_reported(repo: Path) -> None:
    line = edit(repo / STARTER, "# endregion: capacity", "# endregion: capacty")
    found = codes(repo)
    assert (STARTER, line, "IL204") in found
    assert any(path == LAB and code == "IL204" for path, _, code in found)


def test_fence_too_short_for_the_excerpt(repo: Path) -> None:
    edit(
        repo / STARTER,
        "# endregion: combine",
        'FENCE_IN_TEXT = """\n```\n"""\n# endregion: combine',
    )
    assert any(code == "IL205" for _, _, code in codes(repo))


def test_further_reading_drift(repo: Path) -> None:
    edit(
        repo / LAB, 'title: "Mixtral of Experts"', 'title: "Mixtral of Experts (2024)"'
    )
    assert any(path == LAB and code == "IL206" for path, _, code in codes(repo))


# -- claims ----------------------------------------------------------------------------


def test_claim_resting_on_practical_source_only(repo: Path) -> None:
    page = repo / LAB
    text = page.read_text("utf-8")
    start = text.index("- Router scores choose the top-k experts")
    end = text.index("\n- ", start + 1)
    bullet = text[start:end]
    cut = bullet[: bullet.index("[^")] + "[^nccl-alltoall-issue]"
    page.write_text(text.replace(bullet, cut), "utf-8")
    line = text[:start].count("\n") + 1
    assert (LAB, line, "IL303") in codes(repo)


def test_uncited_and_duplicate_and_stale_references(repo: Path) -> None:
    page = repo / LAB
    extra = (
        "  - id: gshard\n    kind: paper\n    title: Again\n    url: https://arxiv.org/abs/2006.16668\n"
        "  - id: never-cited\n    kind: official\n    title: Never cited\n    url: https://example.org/a\n"
        "    checked: 2020-01-01\n    version_sensitive: true\n"
    )
    edit(page, "references:\n", "references:\n" + extra)
    found = {(path, code) for path, _, code in codes(repo)}
    assert {(LAB, "IL306"), (LAB, "IL304"), (LAB, "IL305")} <= found
    lines = page.read_text("utf-8").splitlines()
    second = [n for n, text in enumerate(lines, 1) if text == "  - id: gshard"][1]
    assert (LAB, second, "IL306") in codes(repo)


def test_claim_sections_are_configurable(repo: Path) -> None:
    page = repo / LAB
    text = page.read_text("utf-8")
    start = text.index("## Interview explanation")
    page.write_text(
        text[:start]
        + "## Interview explanation\n\n- an uncited bullet\n"
        + text[start + len("## Interview explanation") :],
        "utf-8",
    )
    assert not any(code == "IL301" for _, _, code in codes(repo))
    sections = {"labs": ["interview-explanation"], "handbook": ["*"]}
    assert any(code == "IL301" for _, _, code in codes(repo, claim_sections=sections))


# -- links -----------------------------------------------------------------------------


def test_broken_link_and_anchor(repo: Path) -> None:
    page = repo / LAB
    line = edit(
        page, "(../handbook/expert-parallel-routing.md)", "(../handbook/nowhere.md)"
    )
    assert (LAB, line, "IL401") in codes(repo)
    edit(
        page,
        "(../handbook/nowhere.md)",
        "(../handbook/expert-parallel-routing.md#no-such-heading)",
    )
    assert (LAB, line, "IL402") in codes(repo)


def test_good_anchor_passes(repo: Path) -> None:
    edit(
        repo / LAB,
        "(../handbook/expert-parallel-routing.md)",
        "(../handbook/expert-parallel-routing.md#further-reading)",
    )
    assert codes(repo) == set()


def test_link_leaving_the_repository(repo: Path) -> None:
    line = edit(
        repo / LAB, "(../handbook/expert-parallel-routing.md)", "(../../../outside.md)"
    )
    assert (LAB, line, "IL401") in codes(repo)


def test_page_suppression_does_not_silence_a_source_file_finding(repo: Path) -> None:
    line = edit(repo / STARTER, "# endregion: capacity", "# endregion: capacty")
    page = repo / LAB
    lines = page.read_text("utf-8").split("\n")
    # A comment on the page whose next line has the source finding's line number.
    lines.insert(line - 2, "<!-- infralens-ignore IL204: unrelated -->")
    page.write_text("\n".join(lines), "utf-8")
    assert (STARTER, line, "IL204") in codes(repo)


def test_symlinked_page_leading_outside_is_reported_not_read(
    repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("no frontmatter here\n", "utf-8")
    (repo / "content/labs/outside.md").symlink_to(outside)
    found = {(path, code) for path, _, code in codes(repo)}
    assert ("content/labs/outside.md", "IL013") in found
    assert ("content/labs/outside.md", "IL001") not in found


def _configure(repo: Path, table: str) -> None:
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    pyproject.write_text(
        text.replace("[tool.infralens]\n", f"[tool.infralens]\n{table}\n"), "utf-8"
    )


@pytest.mark.parametrize(
    "table",
    [
        'select = ["IL999"]',
        'ignore = ["IL9"]',
        'severity = { IL998 = "warning" }',
        'claim_sections = { labs = ["common-misunderstanding"] }',
    ],
)
def test_configuration_that_would_silently_check_nothing_is_refused(
    repo: Path, table: str
) -> None:
    from tests.helpers import run_cli

    _configure(repo, table)
    result = run_cli("check", "--no-exec", cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "invalid configuration" in result.stderr


def test_select_naming_no_rule_is_a_usage_error(repo: Path) -> None:
    from tests.helpers import run_cli

    result = run_cli("check", "--no-exec", "--select", "IL999", cwd=repo)
    assert result.returncode == 2
    assert "matches no rule" in result.stderr


@pytest.mark.parametrize("page_path", [HANDBOOK, LAB])
def test_missing_further_reading_is_reported_and_added_by_fix(
    repo: Path, page_path: str
) -> None:
    from tests.helpers import run_cli

    page = repo / page_path
    original = page.read_text("utf-8")
    page.write_text(
        original[: original.index("## Further reading")].rstrip("\n") + "\n", "utf-8"
    )
    assert any(path == page_path and code == "IL011" for path, _, code in codes(repo))
    fixed = run_cli("check", "--no-exec", "--fix", cwd=repo)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert page.read_text("utf-8") == original


def test_overlapping_regions_are_reported_at_the_source(repo: Path) -> None:
    starter = repo / STARTER
    text = starter.read_text("utf-8")
    text = text.replace("# endregion: select\n", "", 1)
    # select now closes inside capacity, which opened after it: they overlap.
    text = text.replace(
        "# endregion: capacity\n", "# endregion: select\n# endregion: capacity\n", 1
    )
    starter.write_text(text, "utf-8")
    found = codes(repo)
    assert any(path == STARTER and code == "IL204" for path, _, code in found)


def test_checked_date_in_the_future_is_reported(repo: Path) -> None:
    line = edit(repo / LAB, "checked: 2026-12-03\n", "checked: 2999-01-01\n")
    assert (LAB, line, "IL305") in codes(repo)


def test_dependency_cache_follows_page_edits(repo: Path) -> None:
    from validators.project import load_project, pages_for

    def selected(changed: str) -> set[str]:
        project = load_project(repo, Config())
        return pages_for(project, [changed])

    # Cold and warm runs agree: the handbook page links to the lab.
    cold, warm = selected(LAB), selected(LAB)
    assert cold == warm
    assert HANDBOOK in warm
    # A new link from the handbook to the starter is seen although the cache was warm.
    assert HANDBOOK not in selected(STARTER)
    edit(repo / HANDBOOK, "\n## ", f"\nSee [the starter](../../{STARTER}).\n\n## ")
    assert HANDBOOK in selected(STARTER)
    assert list((repo / ".infralens-cache" / "deps").glob("*.json"))
