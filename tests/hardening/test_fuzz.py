"""Any input: arbitrary bytes, YAML-ish frontmatter and Markdown go through the loader,
every check and `--fix`; the result is findings or a clean pass, never an exception.

Profiles: `ci` (the default) is derandomized and sized for CI; run the deeper, random
search locally with `INFRALENS_FUZZ=deep pytest tests/hardening/test_fuzz.py`.
A failure found here is kept below as an explicit `@example`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.hardening.conftest import LAB, REPO, copy_repo
from validators.config import Config
from validators.engine import Options, check_pages
from validators.fix import fix_page
from validators.project import load_project
from validators.text import SourceText

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("INFRALENS_FUZZ_EXAMPLES", "300")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=5000,
    derandomize=False,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("INFRALENS_FUZZ", "ci"))

LAB_ID = "lab-01-fuzz"
PAGES = {"lab": f"content/labs/{LAB_ID}.md", "handbook": "content/handbook/fuzz.md"}
SOURCE = f"code/{LAB_ID}/starter.py"
SOURCES = {
    SOURCE: b"import math\n\n# region: a\ndef f():\n    return 1\n# endregion: a\n"
    b"# region: a-b\n```\n~~~~\n# endregion: a-b\n# region: empty\n# endregion: empty\n",
    f"code/{LAB_ID}/crlf.py": b"# region: a\r\nx = 1\r\n# endregion: a\r\n",
    f"code/{LAB_ID}/broken.py": b"# region: a\n# region: a\n# endregion: b\n",
    f"code/{LAB_ID}/latin1.py": b"# caf\xe9\n",
    f"code/{LAB_ID}/empty.py": b"",
    f"code/{LAB_ID}/no-newline.py": b"# region: a\n  y = 2\n# endregion: a",
    f"code/{LAB_ID}/deep/a/b/c/d.py": b"z = 3\n",
}
HANDBOOK_PAGE = b"""---
id: fuzz-section
title: Fuzz section
summary: A handbook page the fuzzed lab can name.
---

# Fuzz section

## Heading one
"""


@pytest.fixture(scope="module")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "repo"
    (root / "content/labs").mkdir(parents=True)
    (root / "content/handbook").mkdir(parents=True)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "content/handbook/fuzz-section.md").write_bytes(HANDBOOK_PAGE)
    for relative, data in SOURCES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    outside = root.parent / "outside.py"
    outside.write_bytes(b"secret = 1\n")
    (root / f"code/{LAB_ID}/link.py").symlink_to(outside)
    return root


@pytest.fixture(scope="module")
def real_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("fuzz-real") / "repo")


def check_everything(root: Path, page_path: str, data: bytes) -> None:
    """Load, check and fix one page; every finding must be well formed."""
    for other in PAGES.values():
        (root / other).unlink(missing_ok=True)
    (root / page_path).write_bytes(data)
    code_before = _files(root / "code")
    project = load_project(root, Config())
    outcome = check_pages(project, sorted(project.pages), Options(execute=False))
    line_counts = _line_counts(root, [f.path for f in outcome.findings])
    for finding in outcome.findings:
        assert finding.line >= 1, finding
        assert finding.column >= 1, finding
        assert finding.line <= line_counts[finding.path] + 1, finding
        assert "\n" not in finding.message, finding
    result = fix_page(project.pages[page_path], project)
    if result.changed:
        fixed = (root / page_path).read_bytes()
        again = load_project(root, Config())
        second = fix_page(again.pages[page_path], again)
        assert not second.changed, "a second --fix changed the page again"
        assert (root / page_path).read_bytes() == fixed
    else:
        assert (root / page_path).read_bytes() == data, "an unfixed page was written"
    assert _files(root / "code") == code_before, "a source file was changed"


def _files(folder: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def _line_counts(root: Path, paths: list[str]) -> dict[str, int]:
    counts = {}
    for relative in set(paths):
        text = (root / relative).read_bytes().decode("utf-8", errors="replace")
        counts[relative] = len(SourceText(text).lines) or 1
    return counts


# -- strategies -------------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "x",
        "no",
        "off",
        "yes",
        "on",
        "~",
        "null",
        "0600",
        "1.10",
        "1e3",
        ".inf",
        "-.nan",
        "0x1F",
        "2026-12-03",
        "true",
        "False",
        "'quoted'",
        '"dq"',
        "[en, no]",
        "{a: 1}",
        "&anchor x",
        "*anchor",
        "!!python/object:os.system",
        "!tag x",
        "! 12",
        "|",
        ">-",
        "- item",
        "? key",
        "%YAML 1.1",
        "---",
        "...",
        "#",
        "\t",
        "  ",
        ":",
        "é",
        "\u2028",
        "\x85",
        "\x00",
        "\x01",
        "\ufeff",
        "[" * 25,
        "{" * 25,
        "a: b: c",
    ]
)
KEYS = st.sampled_from(
    [
        "id",
        "number",
        "title",
        "handbook_section",
        "concept_goal",
        "summary",
        "starters",
        "references",
        "path",
        "role",
        "checks",
        "invariants",
        "kind",
        "url",
        "checked",
        "version_sensitive",
        "labs",
        "statement",
        "launch",
        "processes",
        "timeout_s",
        "draft",
        "languages",
        "version",
        "<<",
        "",
    ]
)
VALUES = st.one_of(WORDS, st.text(max_size=20), st.integers().map(str))
YAML_LINE = (
    st.builds(
        lambda indent, dash, key, value: f"{' ' * indent}{dash}{key}: {value}",
        st.integers(0, 6),
        st.sampled_from(["", "- "]),
        KEYS,
        VALUES,
    )
    | WORDS
    | st.text(max_size=30)
)

FUZZED_SOURCE = f"code/{LAB_ID}/fuzzed.py"
PATHS = st.sampled_from(
    [
        *SOURCES,
        FUZZED_SOURCE,
        f"code/{LAB_ID}/link.py",
        f"code/{LAB_ID}/missing.py",
        f"code/../code_private/{LAB_ID}.py",
        "/etc/passwd",
        "C:/x.py",
        "code\\x.py",
        "code/" + "a" * 300 + ".py",
        "",
        "code",
        "content/handbook/fuzz-section.md",
        "..",
        ".",
    ]
)
REGIONS = st.sampled_from(["a", "a-b", "empty", "missing", "A", "a.b", "", "'a'"])
TARGETS = st.one_of(
    PATHS,
    st.sampled_from(
        [
            "#heading-one",
            "#nowhere",
            "../handbook/fuzz-section.md#heading-one",
            "../handbook/fuzz-section.md#x",
            "../../../../outside.md",
            "//[",
            "http://[::1",
            "a%00b",
            "%2e%2e/%2e%2e/x",
            "mailto:x@example.org",
            "https://example.org/a b",
            "<a b>",
            "..\\handbook\\fuzz-section.md",
        ]
    ),
    st.text(max_size=15),
)
INLINE = st.one_of(
    st.text(max_size=40),
    st.builds(lambda t, u: f"[{t}]({u})", st.text(max_size=8), TARGETS),
    st.builds(lambda t, u: f"![{t}]({u})", st.text(max_size=8), TARGETS),
    st.builds(lambda label: f"[^{label}]", st.sampled_from(["r1", "r2", "x", ""])),
    st.sampled_from(["`code`", "**b**", "<span>", "\\", "&amp;", "<!-- c -->"]),
)
INLINES = st.lists(INLINE, max_size=5).map(" ".join)


@st.composite
def fences(draw: st.DrawFn) -> str:
    char = draw(st.sampled_from(["`", "~"]))
    markup = char * draw(st.integers(3, 5))
    attributes = [f"source={draw(PATHS)}"]
    if draw(st.booleans()):
        attributes.append(f"region={draw(REGIONS)}")
    info = " ".join([draw(st.sampled_from(["python", "", "py"])), *attributes])
    prefix = draw(st.sampled_from(["", "  ", "   ", "- ", "1. ", "> ", "> - ", "    "]))
    continuation = "".join(c if c in " >" else " " for c in prefix)
    body = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["def f():", "    return 1", "```", "~~~", "", "\t"]),
                st.text(max_size=20),
            ),
            max_size=6,
        )
    )
    lines = [prefix + markup + info, *(continuation + line for line in body)]
    if draw(st.booleans()):
        lines.append(continuation + markup)
    return "\n".join(lines)


BLOCK = st.one_of(
    st.builds(
        lambda level, text: "#" * level + " " + text,
        st.integers(1, 7),
        st.sampled_from(
            [
                "Concept goal",
                "Mental model",
                "Annotated code preview",
                "Line-by-line explanation",
                "What to notice",
                "Common misunderstandings",
                "Interview explanation",
                "External intuition notes",
                "Further reading",
                "Heading one",
            ]
        )
        | st.text(max_size=15),
    ),
    INLINES,
    st.builds(lambda text: "- " + text, INLINES),
    st.builds(lambda text: "  - " + text, INLINES),
    st.builds(lambda text: "> " + text, INLINES),
    st.builds(
        lambda label, text: f"[^{label}]: {text}",
        st.sampled_from(["r1", "r2", "x"]),
        INLINES,
    ),
    st.sampled_from(
        [
            "<!-- infralens-ignore IL301: a definition -->",
            "<!-- infralens-ignore IL301 -->",
            "<!-- infralens-ignore IL999, IL201: x -->",
            "<!--",
            "-->",
            "<div>",
            "| a | b |\n|---|---|\n| [^r1] | [x](#y) |",
            "---",
            "***",
            "",
            "    indented code",
        ]
    ),
    fences(),
)

VALID_LAB = f"""id: {LAB_ID}
number: 1
title: Fuzz
handbook_section: fuzz-section
concept_goal: Survive anything.
summary: A page made of random parts.
starters:
  - path: {SOURCE}
    role: support
references:
  - id: r1
    kind: paper
    title: "A [paper]"
    url: https://example.org/r1
  - id: r2
    kind: practical
    title: A blog
    url: https://example.org/(r2)"""
VALID_HANDBOOK = """id: fuzz
title: Fuzz
summary: A handbook page made of random parts.
references:
  - id: r1
    kind: official
    title: Docs
    url: https://example.org/r1"""


@st.composite
def pages(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["lab", "handbook"]))
    valid = VALID_LAB if kind == "lab" else VALID_HANDBOOK
    frontmatter_lines = valid.split("\n")
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(frontmatter_lines)))
            frontmatter_lines.insert(position, draw(YAML_LINE))
    opening = draw(
        st.sampled_from(["---", "---", "--- ", "----", "", "...", "\ufeff---"])
    )
    closing = draw(st.sampled_from(["---", "---", "...", "", "--- x"]))
    body = draw(st.lists(BLOCK, max_size=12))
    lines = [opening, *frontmatter_lines, closing, *body]
    endings = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if endings == "mixed":
        text = "".join(
            line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines
        )
    else:
        text = endings.join(lines) + draw(st.sampled_from([endings, ""]))
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = (
            data[:cut]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9x"]))
            + data[cut:]
        )
    return kind, data


MARKERISH = st.one_of(
    st.builds(
        lambda indent, leader, kind, name, closer: (
            f"{indent}{leader} {kind}: {name}{closer}"
        ),
        st.sampled_from(["", "    ", "\t"]),
        st.sampled_from(["#", "//", "--", ";", "%", "/*", "<!--"]),
        st.sampled_from(["region", "endregion"]),
        st.sampled_from(["a", "a-b", "b", "empty"]),
        st.sampled_from(["", " */", " -->"]),
    ),
    st.sampled_from(
        ["# Region: a", "# region a", "# region = a", "# region boundaries"]
    ),
    st.sampled_from(
        ["```", "````", "~~~", "", "   ", "def f():", "    return 1", "\x00"]
    ),
    st.text(max_size=20),
)


@st.composite
def sources(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(MARKERISH, max_size=15))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from([ending, ""]))
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\xfe" + data[cut:]
    return data


# -- properties -------------------------------------------------------------------------


def lab_page(*blocks: str) -> bytes:
    return ("---\n" + VALID_LAB + "\n---\n" + "\n\n".join(blocks) + "\n").encode()


@settings(PROFILE)
@given(kind=st.sampled_from(["lab", "handbook"]), data=st.binary(max_size=600))
@example(kind="lab", data=b"\xef\xbb\xbf---\n---\n")
@example(kind="lab", data=b"---\r\na: 1\r---")
def test_any_bytes(project_root: Path, kind: str, data: bytes) -> None:
    check_everything(project_root, PAGES[kind], data)


@settings(PROFILE)
@given(page=pages())
# Found by the deep run: a percent-encoded NUL in a link crashed the path guard.
@example(page=("lab", lab_page("[](%00)")))
# Found by the deep run: YAML's reader error spread its message over two lines.
@example(page=("lab", b"---\nid: x\n\x1f\nx\n---\n"))
def test_any_page(project_root: Path, page: tuple[str, bytes]) -> None:
    kind, data = page
    check_everything(project_root, PAGES[kind], data)


@settings(PROFILE)
@given(source=sources(), blocks=st.lists(fences(), min_size=1, max_size=3))
@example(
    source=b"# region: a\n# region: a\n",
    blocks=["```python source=" + FUZZED_SOURCE + " region=a\n```"],
)
def test_any_excerpt_source(
    project_root: Path, source: bytes, blocks: list[str]
) -> None:
    (project_root / FUZZED_SOURCE).write_bytes(source)
    check_everything(project_root, PAGES["lab"], lab_page(*blocks))


REAL_LAB = (REPO / LAB).read_bytes()


@settings(PROFILE, max_examples=max(PROFILE.max_examples // 5, 20))
@given(
    cuts=st.lists(
        st.tuples(
            st.integers(0, len(REAL_LAB)),
            st.integers(0, 40),
            st.binary(max_size=8) | st.sampled_from([b"```", b"\r\n", b"---", b"\n- "]),
        ),
        min_size=1,
        max_size=4,
    )
)
# Found by the deep run: a NUL in the frontmatter made a two-line message.
@example(cuts=[(4, 0, b"\x00")])
def test_real_lab_mutated(real_root: Path, cuts: list[tuple[int, int, bytes]]) -> None:
    data = REAL_LAB
    for start, length, insert in cuts:
        data = data[:start] + insert + data[start + length :]
    check_everything(real_root, LAB, data)
