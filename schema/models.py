"""Pydantic models of page frontmatter: the single source of the JSON Schema."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=80)
]
Line = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
RepoPath = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True
    )


class ReferenceKind(StrEnum):
    OFFICIAL = "official"
    PAPER = "paper"
    PRACTICAL = "practical"


class Reference(_Model):
    id: Identifier
    """Label that citations use: `[^id]`."""
    kind: ReferenceKind
    """official docs and papers carry facts; practical sources only build intuition."""
    title: Line
    """The title as its publisher gives it."""
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    """Where the reference lives."""
    checked: dt.date | None = None
    """When the URL and its content were last verified."""
    version_sensitive: StrictBool = False
    """True when what it says changes between releases (APIs, support matrices)."""


class Invariant(_Model):
    id: Identifier
    """Name that checks bind to with `@pytest.mark.invariant("id")`."""
    statement: Line
    """One sentence a learner can trust, because a check proves it."""


class StarterRole(StrEnum):
    ROUTING = "routing"
    SUPPORT = "support"


class Launch(_Model):
    launcher: Annotated[str, StringConstraints(pattern=r"^(python|torchrun)$")] = (
        "python"
    )
    """`python` runs the file as a script; `torchrun` starts one process per rank."""
    processes: list[Annotated[int, Field(ge=1, le=16)]] = Field(
        default_factory=lambda: [1]
    )
    """World sizes to run (torchrun only)."""
    backend: str | None = None
    """The torch.distributed backend the run uses (for example `gloo`)."""


class Starter(_Model):
    path: RepoPath
    """Repository-relative path under `code/<lab-id>/`."""
    role: StarterRole
    """`routing` starters are executed and held to their invariants."""
    description: str | None = None
    checks: RepoPath | None = None
    """The pytest file, beside the starter, whose tests are bound to the invariants."""
    invariants: list[Invariant] = Field(default_factory=list)
    """What the starter promises, each bound to executable checks."""
    requires: list[Identifier] = Field(default_factory=list)
    """Python distributions the starter needs beyond the pipeline's own."""
    launch: Launch = Field(default_factory=Launch)
    """How the pipeline starts it."""
    timeout_s: Annotated[float, Field(gt=0, le=600)] | None = None
    """Wall-clock limit for one run; the configured default when absent."""


class LabFrontmatter(_Model):
    id: Identifier
    """Equals the file name without `.md`."""
    number: Annotated[StrictInt, Field(ge=1, le=9999)]
    """The lab's place in the handbook; unique across labs."""
    title: Line
    handbook_section: Identifier
    """The id of the handbook page this lab belongs to."""
    concept_goal: Line
    """One sentence: what the reader should be able to do afterwards."""
    summary: Line
    starters: list[Starter] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)


class HandbookFrontmatter(_Model):
    id: Identifier
    """Equals the file name without `.md`."""
    title: Line
    summary: Line
    labs: list[Identifier] = Field(default_factory=list)
    """Labs that belong to this section."""
    references: list[Reference] = Field(default_factory=list)
