"""`infralens audit` end to end: the CLI in a subprocess on a copy of the real content,
then broken in each way the audit exists to see; the HTML opened in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import HANDBOOK, LAB, STARTER, CliResult, run_cli
from validators.audit.cli import parse_kinds
from validators.audit.consistency import kind_names, missing_ranges
from validators.audit.execution_status import starter_jobs
from validators.audit.model import GUARANTEES, STATUSES
from validators.audit.render.html import prose
from validators.audit.render.markdown import escape
from validators.checks import execution
from validators.cli import UsageError
from validators.config import load_config
from validators.engine import Options
from validators.execution.cache import ExecCache
from validators.execution.runner import (
    InvariantReport,
    InvariantResult,
    Job,
    JobResult,
)
from validators.execution.sandbox import ProcessResult
from validators.project import load_project

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REMOTE_LOAD = re.compile(
    r"""(?:\b(?:src|href|srcset|poster|data|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|@import|url\(\s*["']?\s*(?:https?:)?//|<script|<link|<iframe|<object|<embed""",
    re.IGNORECASE,
)


def audit(repo: Path, *args: str) -> CliResult:
    return run_cli("audit", *args, cwd=repo)


def audit_json(repo: Path, *args: str) -> dict[str, Any]:
    result = audit(repo, "--format", "json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def lab_ids(repo: Path) -> set[str]:
    return {path.stem for path in (repo / "content" / "labs").glob("*.md")}


def kinds(document: dict[str, Any]) -> set[str]:
    return {finding["kind"] for finding in document["findings"]}


def insert_after(path: Path, needle: str, text: str) -> None:
    content = path.read_text("utf-8")
    assert needle in content, needle
    path.write_text(content.replace(needle, needle + text, 1), "utf-8")


def add_duplicate_lab(repo: Path, stem: str = "lab-07-duplicate") -> Path:
    """A copy of the real lab under another id, keeping its number."""
    page = repo / "content" / "labs" / f"{stem}.md"
    text = (repo / LAB).read_text("utf-8")
    page.write_text(
        text.replace("id: lab-06-expert-parallel-routing", f"id: {stem}", 1), "utf-8"
    )
    return page


# --- JSON: every lab, every guarantee -------------------------------------------


def test_json_names_every_lab_with_a_status_per_guarantee(repo: Path) -> None:
    document = audit_json(repo, "--no-exec")
    assert document["version"] == 1
    assert {lab["id"] for lab in document["labs"]} == lab_ids(repo)
    for lab in document["labs"]:
        assert set(lab["guarantees"]) == {g.name for g in GUARANTEES}
        assert {c["status"] for c in lab["guarantees"].values()} <= set(STATUSES)
    lab = next(lab for lab in document["labs"] if lab["path"] == LAB)
    statuses = {name: cell["status"] for name, cell in lab["guarantees"].items()}
    assert statuses == {
        "schema": "pass",
        "starters": "pass",
        "excerpts": "pass",
        "claims": "pass",
        "links": "pass",
        # A fresh copy has no cache: nothing says the invariants hold right now.
        "execution": "not-run",
    }
    assert lab["guarantees"]["execution"]["detail"] == (
        "no cached passing run for current content"
    )
    assert lab["counts"]["invariants"] >= 1
    assert "routing-not-verified" in kinds(document)


def test_json_has_the_documented_shape(repo: Path) -> None:
    document = audit_json(repo, "--no-exec")
    assert set(document) == {
        "version",
        "generated",
        "executed",
        "stale_after_days",
        "guarantees",
        "finding_kinds",
        "inventory",
        "labs",
        "handbook_sections",
        "starters",
        "findings",
        "summary",
        "citations",
    }
    assert document["executed"] is False
    assert [k["name"] for k in document["finding_kinds"]] == list(kind_names())
    assert set(document["summary"]["by_kind"]) == set(kind_names())
    inventory = document["inventory"]
    assert inventory["labs"] == len(lab_ids(repo))
    assert inventory["handbook_sections"] == 1
    assert inventory["claims"] == document["citations"]["overall"]["claims"] > 0
    section = document["handbook_sections"][0]
    assert section["labs"] == ["lab-06-expert-parallel-routing"]
    assert set(section["guarantees"]) == {"schema", "excerpts", "claims", "links"}
    overall = document["citations"]["overall"]
    assert overall["backed"] == overall["official"] + overall["paper"]
    assert 0 <= overall["backed_share"] <= 1
    uses = document["citations"]["references"]
    assert [u["claims"] for u in uses] == sorted(
        (u["claims"] for u in uses), reverse=True
    )


def test_the_real_content_is_consistent(repo: Path) -> None:
    """Dogfood: the kinds that need no future work (more labs, a fresh check date,
    a starter still being written) are absent from the handbook as it is."""
    found = kinds(audit_json(repo, "--no-exec"))
    settled = set(kind_names()) - {
        "orphan-starter",
        "lab-number-gap",
        "reference-stale",
        "routing-not-verified",
    }
    assert not found & settled, found & settled


# --- the two breakages the issue names -------------------------------------------


def test_orphan_folder_and_duplicate_number_are_both_shown(repo: Path) -> None:
    orphan = repo / "code" / "lab-99-nobody"
    orphan.mkdir()
    (orphan / "lost.py").write_text("print('nobody runs me')\n", "utf-8")
    add_duplicate_lab(repo)

    document = audit_json(repo, "--no-exec")
    found = {(f["kind"], f["path"]) for f in document["findings"]}
    assert ("orphan-starter", "code/lab-99-nobody/") in found
    assert ("lab-number-duplicate", "content/labs/lab-07-duplicate.md") in found
    duplicate = next(
        f for f in document["findings"] if f["kind"] == "lab-number-duplicate"
    )
    assert duplicate["line"] == 3
    assert LAB in duplicate["message"]
    # The copy is a lab too, and the check that sees the number fails its schema cell.
    copy = next(lab for lab in document["labs"] if lab["id"] == "lab-07-duplicate")
    assert copy["guarantees"]["schema"]["status"] == "fail"
    assert "IL012" in copy["guarantees"]["schema"]["codes"]

    terminal = audit(repo, "--no-exec")
    assert terminal.returncode == 0
    assert "code/lab-99-nobody/" in terminal.stdout
    assert "lab-number-duplicate" in terminal.stdout

    gated = audit(repo, "--no-exec", "--fail-on", "orphan-starter")
    assert gated.returncode == 1, gated.stdout + gated.stderr
    both = audit(
        repo, "--no-exec", "--fail-on", "reference-conflict,lab-number-duplicate"
    )
    assert both.returncode == 1


def test_stray_file_in_a_lab_folder_is_an_orphan(repo: Path) -> None:
    stray = repo / "code" / "lab-06-expert-parallel-routing" / "scratch_notes.txt"
    stray.write_text("todo\n", "utf-8")
    document = audit_json(repo, "--no-exec")
    orphans = [f["path"] for f in document["findings"] if f["kind"] == "orphan-starter"]
    assert "code/lab-06-expert-parallel-routing/scratch_notes.txt" in orphans
    assert STARTER not in orphans


def test_every_other_kind_is_found_where_it_is(repo: Path) -> None:
    handbook, lab = repo / HANDBOOK, repo / LAB
    # The same URL with another title on the handbook page.
    text = handbook.read_text("utf-8")
    handbook.write_text(
        text.replace('title: "Mixtral of Experts"', 'title: "Mixtral"', 1), "utf-8"
    )
    # A version-sensitive reference last checked years ago.
    text = handbook.read_text("utf-8")
    start = text.index("url: https://docs.pytorch.org/docs/stable/distributed.html")
    rest = text[start:].replace("checked: 2026-12-03", "checked: 2020-01-01", 1)
    # A reference nobody cites.
    uncited = (
        '  - id: never-cited\n    kind: paper\n    title: "Never Cited"\n'
        "    url: https://example.org/never\n"
    )
    handbook.write_text(
        text[:start] + rest.replace("\nlabs: [", "\n" + uncited + "labs: [", 1),
        "utf-8",
    )
    # A claim resting on a practical source alone.
    insert_after(
        lab, "## What to notice\n\n", "- Practical only.[^nccl-alltoall-issue]\n"
    )
    # A handbook page no lab names.
    (repo / "content" / "handbook" / "orphan-section.md").write_text(
        "---\nid: orphan-section\ntitle: Orphan\nsummary: Nobody points here.\n---\n"
        "\n# Orphan\n",
        "utf-8",
    )
    # A lab whose section is missing, with a routing starter that promises nothing.
    (repo / "code" / "lab-07-bare").mkdir()
    (repo / "code" / "lab-07-bare" / "bare.py").write_text("print(1)\n", "utf-8")
    (repo / "content" / "labs" / "lab-07-bare.md").write_text(
        "---\nid: lab-07-bare\nnumber: 9\ntitle: Bare\nhandbook_section: no-such-section\n"
        "concept_goal: None.\nsummary: None.\nstarters:\n"
        "  - path: code/lab-07-bare/bare.py\n    role: routing\n---\n",
        "utf-8",
    )

    document = audit_json(repo, "--no-exec")
    assert kinds(document) >= {
        "reference-conflict",
        "reference-stale",
        "reference-uncited",
        "claim-practical-only",
        "handbook-section-orphan",
        "handbook-section-missing",
        "routing-without-invariants",
        "routing-not-verified",
        "lab-number-gap",
    }
    by_kind = {f["kind"]: f for f in document["findings"]}
    assert "`Mixtral`" in by_kind["reference-conflict"]["message"]
    assert re.search(
        r"checked \d{4} days ago; window 365 days",
        by_kind["reference-stale"]["message"],
    )
    assert (
        by_kind["handbook-section-orphan"]["path"]
        == "content/handbook/orphan-section.md"
    )
    assert "7 to 8" in by_kind["lab-number-gap"]["message"]
    bare = next(lab for lab in document["labs"] if lab["id"] == "lab-07-bare")
    assert bare["guarantees"]["execution"]["status"] == "fail"
    assert bare["guarantees"]["execution"]["codes"] == ["IL507"]
    section = next(
        s for s in document["handbook_sections"] if s["id"] == "expert-parallel-routing"
    )
    assert section["guarantees"]["claims"]["status"] == "warn"  # IL305, IL304
    share = next(p for p in document["citations"]["pages"] if p["page"] == LAB)
    assert share["practical"] == 1

    gate = ",".join(sorted(kinds(document)))
    assert (
        audit(repo, "--no-exec", "--format", "json", "--fail-on", gate).returncode == 1
    )


# --- exit codes and output ---------------------------------------------------------


def test_clean_gate_exits_zero_and_unknown_kind_exits_two(repo: Path) -> None:
    assert audit(repo, "--no-exec", "--fail-on", "reference-conflict").returncode == 0
    bad = audit(repo, "--no-exec", "--fail-on", "reference-conflict,no-such-kind")
    assert bad.returncode == 2
    assert "no-such-kind" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stdout == ""


def test_output_writes_the_file_and_nothing_else(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "audit.md"
    missing = audit(repo, "--no-exec", "--format", "markdown", "--output", str(target))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    target.parent.mkdir()
    target.write_text("old\n", "utf-8")
    result = audit(repo, "--no-exec", "--format", "markdown", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [p.name for p in target.parent.iterdir()] == ["audit.md"]
    text = target.read_text("utf-8")
    assert text.startswith("## InfraLens audit")
    assert "| 6 | Expert Parallel Routing<br>`lab-06-expert-parallel-routing` |" in text
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_terminal_and_markdown_name_every_lab(repo: Path) -> None:
    add_duplicate_lab(repo)
    for fmt in ("terminal", "markdown"):
        result = audit(repo, "--no-exec", "--format", fmt, "--color", "never")
        assert result.returncode == 0
        assert "\033[" not in result.stdout
        for lab in lab_ids(repo):
            assert lab in result.stdout, (fmt, lab)
    colored = audit(repo, "--no-exec", "--color", "always")
    assert "\033[32mpass" in colored.stdout


# --- execution status comes from the cache ----------------------------------------


def _store(repo: Path, *, invariant_status: str) -> None:
    project = load_project(repo, load_config(repo))
    cache = ExecCache(repo)
    process = ProcessResult(0, False, "", 0, 0.1, ())
    for lab in project.labs:
        for index, starter in enumerate(lab.model.starters):
            for job in starter_jobs(project, lab, index):
                result = (
                    process
                    if job.kind == "starter"
                    else InvariantReport(
                        str(job.path),
                        tuple(
                            InvariantResult(i.id, invariant_status, "")
                            for i in starter.invariants
                        ),
                        (),
                        (),
                        (),
                        process,
                    )
                )
                assert cache.put(cache.key_for(job), result)


def _execution(document: dict[str, Any]) -> dict[str, Any]:
    lab = next(lab for lab in document["labs"] if lab["path"] == LAB)
    return lab["guarantees"]["execution"]


def numpy_only(repo: Path) -> None:
    """Drop the distributed starter (it needs torch, and minutes to run) from the copy."""
    page = repo / LAB
    text = page.read_text("utf-8")
    start = text.index(
        "  - path: code/lab-06-expert-parallel-routing/expert_routing_dist.py"
    )
    page.write_text(text[:start] + text[text.index("references:", start) :], "utf-8")


def test_audit_plans_exactly_the_jobs_run_labs_runs(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every routing starter, torchrun ones included: same jobs, so same cache keys."""
    project = load_project(repo, load_config(repo))
    submitted: list[Job] = []

    def record(jobs: list[Job], **_: object) -> list[JobResult]:
        submitted.extend(jobs)
        return [JobResult(job, ProcessResult(0, False, "", 0, 0.0, ())) for job in jobs]

    monkeypatch.setattr(execution, "run_many", record)
    # As if torch were installed, so torchrun starters are planned here too.
    monkeypatch.setattr(execution, "missing_requirements", lambda _: [])
    execution.run_labs(project, project.labs, Options())
    planned = [
        job
        for lab in project.labs
        for index, starter in enumerate(lab.model.starters)
        if starter.role.value == "routing"
        for job in starter_jobs(project, lab, index)
    ]
    assert planned == submitted
    assert len(submitted) > 2  # the NumPy starter, its checks, and torchrun runs


def test_cached_pass_verifies_and_an_edit_unverifies(repo: Path) -> None:
    numpy_only(repo)
    _store(repo, invariant_status="passed")
    document = audit_json(repo, "--no-exec")
    assert _execution(document)["status"] == "pass"
    assert "routing-not-verified" not in kinds(document)
    assert document["starters"][0]["cache"] == "passed"

    insert_after(repo / STARTER, "\n", "# an edit after the last run\n")
    document = audit_json(repo, "--no-exec")
    assert _execution(document)["status"] == "not-run"
    assert "routing-not-verified" in kinds(document)


def test_cached_failure_fails_execution(repo: Path) -> None:
    numpy_only(repo)
    _store(repo, invariant_status="failed")
    document = audit_json(repo, "--no-exec")
    assert _execution(document)["status"] == "fail"
    finding = next(
        f for f in document["findings"] if f["kind"] == "routing-not-verified"
    )
    assert "its cached run failed" in finding["message"]


@pytest.mark.slow
def test_a_real_run_is_found_again_by_a_cache_only_audit(repo: Path) -> None:
    """The audit looks results up with the keys `infralens check` stores them under."""
    numpy_only(repo)
    executed = audit_json(repo)
    assert executed["executed"] is True
    assert _execution(executed)["status"] == "pass"
    assert "routing-not-verified" not in kinds(executed)

    cached = audit_json(repo, "--no-exec")
    assert _execution(cached)["status"] == "pass"
    assert _execution(cached)["detail"] == "cached pass for current content"
    assert "routing-not-verified" not in kinds(cached)


# --- HTML -------------------------------------------------------------------------


def html_report(repo: Path, tmp_path: Path) -> Path:
    add_duplicate_lab(repo)
    target = tmp_path / "audit.html"
    result = audit(repo, "--no-exec", "--format", "html", "--output", str(target))
    assert result.returncode == 0, result.stderr
    return target


def test_html_is_self_contained_and_names_every_lab(repo: Path, tmp_path: Path) -> None:
    text = html_report(repo, tmp_path).read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert REMOTE_LOAD.search(text) is None, REMOTE_LOAD.search(text)
    assert "<svg" in text
    assert "<style>" in text
    for lab in lab_ids(repo):
        assert lab in text


def _browser() -> str | None:
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_pixels(data: bytes) -> bytes:
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return zlib.decompress(b"".join(chunks))


def _chromium(
    browser: str, profile: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [browser, *flags, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_html_renders_in_headless_chromium(repo: Path, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip(
            "no Chromium binary on PATH (looked for "
            + ", ".join(BROWSERS)
            + "); install it with `apt-get install -y chromium`"
        )
    page = html_report(repo, tmp_path)
    shot = tmp_path / "audit.png"
    done = _chromium(
        browser,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.as_uri(),
    )
    assert shot.is_file(), done.stderr
    data = shot.read_bytes()
    assert _png_size(data) == (1280, 2000)
    assert len(data) > 20_000
    assert len(set(_png_pixels(data))) > 50  # not a blank page

    dom = _chromium(browser, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr
    assert dom.returncode == 0, dom.stderr
    for lab in lab_ids(repo):
        assert lab in dom.stdout
    assert "Expert Parallel Routing" in dom.stdout
    assert "Guarantees per lab" in dom.stdout


# --- small pure pieces ------------------------------------------------------------


def test_missing_ranges_run_from_one() -> None:
    assert missing_ranges(set()) == []
    assert missing_ranges({1, 2, 3}) == []
    assert missing_ranges({6}) == [(1, 5)]
    assert missing_ranges({1, 3, 4, 7}) == [(2, 2), (5, 6)]


def test_parse_kinds() -> None:
    assert parse_kinds("") == set()
    assert parse_kinds(" orphan-starter , lab-number-gap,") == {
        "orphan-starter",
        "lab-number-gap",
    }
    with pytest.raises(UsageError, match="`bogus`"):
        parse_kinds("orphan-starter,bogus")


def test_markdown_cells_are_escaped() -> None:
    assert escape("a | b\nc") == "a \\| b c"


def test_html_prose_codes_backticks_and_escapes() -> None:
    assert prose("a `<b>` c") == "a <code>&lt;b&gt;</code> c"
    assert prose("odd ` tick <i>") == "odd ` tick &lt;i&gt;"
