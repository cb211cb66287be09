"""How fast is the static check, against the floor of only parsing the same files?

Grows synthetic corpora of 100 and 1,000 labs (copies of Lab 06 with their own ids,
numbers and starters), then prints, in one run:

- the static check's marginal cost per lab: (time at 1,000 - time at 100) / 900;
- the same figure for only parsing those files: markdown-it-py with the plugins the
  pipeline uses, plus PyYAML's C loader on the frontmatter (the floor);
- their ratio (target: within 1.5x of the floor);
- one page checked as pre-commit would pass it, through the real CLI (target: < 0.5 s).

    python benchmarks/check_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from validators.config import Config  # noqa: E402
from validators.engine import Options, check_pages  # noqa: E402
from validators.markdown import parser  # noqa: E402
from validators.project import load_project  # noqa: E402

LAB_ID = "lab-06-expert-parallel-routing"


def grow(root: Path, labs: int) -> None:
    shutil.copytree(REPO / "content", root / "content")
    page = (REPO / "content" / "labs" / f"{LAB_ID}.md").read_text("utf-8")
    starter_folder = REPO / "code" / LAB_ID
    shutil.copytree(
        starter_folder,
        root / "code" / LAB_ID,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for number in range(100, labs + 100):
        lab_id = f"lab-{number:04d}-synthetic"
        text = page.replace(LAB_ID, lab_id).replace(
            "number: 6\n", f"number: {number}\n", 1
        )
        (root / "content" / "labs" / f"{lab_id}.md").write_text(text, "utf-8")
        shutil.copytree(
            starter_folder,
            root / "code" / lab_id,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")


def time_check(root: Path) -> float:
    start = time.perf_counter()
    project = load_project(root, Config())
    outcome = check_pages(project, sorted(project.pages), Options(execute=False))
    elapsed = time.perf_counter() - start
    errors = [
        f for f in outcome.findings if f.severity.value == "error" and f.code != "IL012"
    ]
    assert not errors, errors[:3]
    return elapsed


def time_parse_floor(root: Path) -> float:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    md = parser()
    files = sorted((root / "content").rglob("*.md")) + sorted(
        (root / "code").rglob("*.py")
    )
    start = time.perf_counter()
    for path in files:
        text = path.read_text("utf-8")
        if path.suffix == ".md":
            frontmatter = text.split("---\n", 2)[1]
            yaml.load(frontmatter, Loader=loader)
            md.parse(text)
    return time.perf_counter() - start


def best_of(repeat: int, measure, root: Path) -> float:
    return min(measure(root) for _ in range(repeat))


def one_page_cli(root: Path) -> float:
    page = "content/labs/lab-0100-synthetic.md"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "validators", "check", "--no-exec", page],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert done.returncode in (0, 1), done.stderr
    return elapsed


def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--repeat", type=int, default=3)
    repeat = arguments.parse_args().repeat
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small", Path(scratch) / "large"
        grow(small, 100)
        grow(large, 1000)
        check = {
            n: best_of(repeat, time_check, root)
            for n, root in ((100, small), (1000, large))
        }
        floor = {
            n: best_of(repeat, time_parse_floor, root)
            for n, root in ((100, small), (1000, large))
        }
        check_marginal = (check[1000] - check[100]) / 900
        floor_marginal = (floor[1000] - floor[100]) / 900
        page = min(one_page_cli(small) for _ in range(repeat))
    print(
        f"static check     100 labs: {check[100]:.3f} s   1000 labs: {check[1000]:.3f} s"
    )
    print(
        f"parse floor      100 labs: {floor[100]:.3f} s   1000 labs: {floor[1000]:.3f} s"
    )
    print(
        f"marginal per lab: check {check_marginal * 1000:.2f} ms, parse floor {floor_marginal * 1000:.2f} ms"
    )
    print(f"ratio check/floor: {check_marginal / floor_marginal:.2f}x (target <= 1.5x)")
    print(
        f"one page through the CLI (as pre-commit passes it): {page:.3f} s (target < 0.5 s)"
    )


if __name__ == "__main__":
    main()
