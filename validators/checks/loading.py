"""Reading a page: encoding, line endings, frontmatter, YAML, schema."""

from __future__ import annotations

from collections.abc import Iterator

from validators.diagnostics import Finding, Severity, at
from validators.page import Page
from validators.project import Project
from validators.registry import Check, Rule

E, W = Severity.ERROR, Severity.WARNING

RULES = (
    Rule(
        "IL001",
        "frontmatter-missing",
        "A page starts with YAML frontmatter between `---` lines, closed.",
        E,
        "The frontmatter says what a page is; without it nothing else can be checked.",
        "# Lab 06\n",
        "---\nid: lab-06\n...\n---\n# Lab 06\n",
    ),
    Rule(
        "IL002",
        "yaml-syntax",
        "Frontmatter is valid YAML.",
        E,
        "A YAML error hides every key after it.",
        "title: [unclosed\n",
        "title: closed\n",
    ),
    Rule(
        "IL003",
        "yaml-duplicate-key",
        "No key appears twice in one mapping, at any depth.",
        E,
        "YAML keeps the last value silently, so the first one the author wrote is lost.",
        "title: A\ntitle: B\n",
        "title: A\n",
    ),
    Rule(
        "IL004",
        "yaml-unsafe",
        "No anchors, aliases, tags, several documents, oversized or too deeply nested frontmatter.",
        E,
        "These have no use in frontmatter; aliases can explode in memory and tags can build objects.",
        "a: &x 1\nb: *x\n",
        "a: 1\nb: 1\n",
    ),
    Rule(
        "IL005",
        "yaml-retyped-scalar",
        "A plain value YAML would turn into a different number is quoted.",
        E,
        "`version: 1.10` becomes 1.1 and `number: 0600` becomes 600 (384 under YAML 1.1): not what the author wrote.",
        "version: 1.10\n",
        'version: "1.10"\n',
    ),
    Rule(
        "IL006",
        "schema",
        "Frontmatter has the keys and types its page kind requires.",
        E,
        "Every later check reads the frontmatter; a wrong type there breaks them all.",
        'number: "six"\n',
        "number: 6\n",
    ),
    Rule(
        "IL007",
        "id-mismatch",
        "A page's `id` equals its file name without `.md`.",
        E,
        "Links, handbook sections and caches find pages by id.",
        "id: lab-6 (in lab-06-expert-parallel-routing.md)\n",
        "id: lab-06-expert-parallel-routing\n",
    ),
    Rule(
        "IL008",
        "not-utf8",
        "Pages and the files they name are UTF-8.",
        E,
        "Excerpts and line numbers are computed on decoded text.",
        "a Latin-1 byte 0xe9\n",
        "UTF-8 text\n",
    ),
    Rule(
        "IL009",
        "mixed-line-endings",
        "A page uses one line ending throughout.",
        W,
        "Mixed endings show up as noise in diffs; `--fix` writes the majority ending.",
        "LF and CRLF lines in one file\n",
        "CRLF only, or LF only\n",
    ),
    Rule(
        "IL013",
        "page-outside-repository",
        "A page in `content/` is a file of this repository, not a symlink leading out of it.",
        E,
        "A page whose bytes live elsewhere is not reviewed with the repository, and `--fix` must never write outside it.",
        "content/labs/lab-08.md -> /tmp/lab-08.md\n",
        "content/labs/lab-08.md (a regular file)\n",
    ),
)


def run(page: Page, project: Project) -> Iterator[Finding]:
    yield from page.findings
    if page.source is not None and page.source.is_mixed:
        yield at(
            page.path,
            1,
            1,
            "IL009",
            f"mixed line endings: {page.source.describe_endings()}",
            f"use one ending throughout; `--fix` writes the lines it changes with {page.source.newline_name}, the most common one, and leaves the others as they are",
        )
    model = page.model
    if model is not None and model.id != page.stem:
        line, column = page.key_position(("id",))
        yield at(
            page.path,
            line,
            column,
            "IL007",
            f"`id` is `{model.id}` but the file is named `{page.stem}.md`",
            f"set `id: {page.stem}` or rename the file",
        )


CHECK = Check("loading", RULES, run)
