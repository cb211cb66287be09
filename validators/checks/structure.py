"""Lab structure: its handbook section exists, its sections are all there in order,
and its number is its own."""

from __future__ import annotations

from collections.abc import Iterator

from schema.models import HandbookFrontmatter, LabFrontmatter
from validators.diagnostics import Finding, Severity, at
from validators.page import Page
from validators.project import Project
from validators.registry import Check, Rule

LAB_SECTIONS = (
    ("concept-goal", "Concept goal"),
    ("mental-model", "Mental model"),
    ("annotated-code-preview", "Annotated code preview"),
    ("line-by-line-explanation", "Line-by-line explanation"),
    ("what-to-notice", "What to notice"),
    ("common-misunderstandings", "Common misunderstandings"),
    ("interview-explanation", "Interview explanation"),
    ("external-intuition-notes", "External intuition notes"),
    ("further-reading", "Further reading"),
)

RULES = (
    Rule(
        "IL010",
        "handbook-section-missing",
        "A lab's `handbook_section` names an existing handbook page.",
        Severity.ERROR,
        "Every lab is read after its handbook section; a dangling name leaves the reader nowhere to start.",
        "handbook_section: no-such-page\n",
        "handbook_section: expert-parallel-routing\n",
    ),
    Rule(
        "IL011",
        "lab-sections",
        "A lab has every required `##` section, once each, in the handbook's order; a handbook page with references has Further reading.",
        Severity.ERROR,
        "Readers, and the checks for claims and further reading, rely on the fixed shape.",
        "## Mental model\n## Concept goal\n",
        "## Concept goal\n## Mental model\n",
    ),
    Rule(
        "IL012",
        "lab-number-duplicate",
        "No two labs share a number.",
        Severity.ERROR,
        "Numbers order the handbook; two labs with one number make that order a guess.",
        "number: 6 (in two labs)\n",
        "number: 6 and number: 7\n",
    ),
)


def run(page: Page, project: Project) -> Iterator[Finding]:
    model = page.model
    if isinstance(model, HandbookFrontmatter):
        yield from _handbook_findings(page, model)
    if not isinstance(model, LabFrontmatter):
        return
    if model.handbook_section not in project.handbook_ids:
        line, column = page.key_position(("handbook_section",))
        yield at(
            page.path,
            line,
            column,
            "IL010",
            f"handbook section `{model.handbook_section}` does not exist",
            f"create `content/handbook/{model.handbook_section}.md` or name an existing section",
        )
    yield from _section_findings(page)
    yield from _number_findings(page, project)


def _handbook_findings(page: Page, model: HandbookFrontmatter) -> Iterator[Finding]:
    slugs = {section.heading.slug for section in page.structure.sections}
    if model.references and "further-reading" not in slugs:
        yield at(
            page.path,
            page.frontmatter_end + 1,
            1,
            "IL011",
            "section `## Further reading` is missing: its footnotes define the citations",
            "`infralens check --fix` adds it, generated from the frontmatter references",
        )


def _section_findings(page: Page) -> Iterator[Finding]:
    order = [slug for slug, _ in LAB_SECTIONS]
    titles = dict(LAB_SECTIONS)
    present = [
        (s.heading.slug, s.heading.line)
        for s in page.structure.sections
        if s.heading.slug in titles
    ]
    for slug in order:
        if slug not in {found for found, _ in present}:
            yield at(
                page.path,
                page.frontmatter_end + 1,
                1,
                "IL011",
                f"section `## {titles[slug]}` is missing",
            )
    seen: set[str] = set()
    furthest = -1
    for slug, line in present:
        if slug in seen:
            yield at(
                page.path,
                line,
                1,
                "IL011",
                f"section `## {titles[slug]}` appears twice",
            )
            continue
        seen.add(slug)
        if order.index(slug) < furthest:
            yield at(
                page.path,
                line,
                1,
                "IL011",
                f"section `## {titles[slug]}` is out of order",
                "order: " + " · ".join(titles.values()),
            )
        furthest = max(furthest, order.index(slug))


def _number_findings(page: Page, project: Project) -> Iterator[Finding]:
    model = page.model
    earlier = [
        other
        for other in project.labs
        if other.model.number == model.number and other.path < page.path
    ]
    if earlier:
        line, column = page.key_position(("number",))
        yield at(
            page.path,
            line,
            column,
            "IL012",
            f"lab number {model.number} is already used by `{earlier[0].path}`",
        )


CHECK = Check("structure", RULES, run)
