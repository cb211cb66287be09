"""`[tool.infralens]` in pyproject.toml: validated, with unknown keys refused."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_CLAIM_SECTIONS = {
    "labs": [
        "mental-model",
        "line-by-line-explanation",
        "what-to-notice",
        "common-misunderstandings",
    ],
    "handbook": ["*"],
}


class ConfigError(Exception):
    """A configuration the pipeline cannot run with (exit 2)."""


class ExecutionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: Annotated[float, Field(gt=0, le=600)] = 90.0
    """Wall-clock limit for one starter or check run."""
    cpu_s: Annotated[int, Field(gt=0)] = 300
    memory_mb: Annotated[int, Field(gt=0)] = 4096
    output_kib: Annotated[int, Field(gt=0)] = 64
    jobs: Annotated[int, Field(ge=0)] = 0
    """Parallel runs; 0 means one per CPU."""


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    select: list[str] = Field(default_factory=lambda: ["IL"])
    """Rule codes or prefixes to run."""
    ignore: list[str] = Field(default_factory=list)
    """Rule codes or prefixes to skip; the longest matching prefix wins."""
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    """Glob (repository-relative) to codes or prefixes ignored in matching files."""
    severity: dict[str, str] = Field(default_factory=dict)
    """Code to `error` or `warning`, overriding a rule's default."""
    claim_sections: dict[str, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_CLAIM_SECTIONS)
    )
    """Page kind (`labs`, `handbook`) to section slugs whose bullets are claims; `*` means all."""
    stale_after_days: Annotated[int, Field(gt=0)] = 365
    """Age after which a version-sensitive reference's `checked` date is stale."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)


def load_config(root: Path, override: Path | None = None) -> Config:
    path = override or root / "pyproject.toml"
    if not path.is_file():
        return Config()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name}: {error}") from error
    table = data.get("tool", {}).get("infralens", {})
    if override is not None and not table and "tool" not in data:
        table = data
    try:
        return Config.model_validate(table)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from error


def _describe(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        key = ".".join(str(part) for part in detail["loc"])
        if detail["type"] == "extra_forbidden":
            parts.append(f"unknown key `tool.infralens.{key}`")
        else:
            parts.append(f"`tool.infralens.{key}`: {detail['msg']}")
    return "invalid configuration: " + "; ".join(parts)
