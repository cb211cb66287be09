"""`[tool.infralens]` in pyproject.toml: validated, with unknown keys refused.

    [tool.infralens]
    select = ["IL"]                      # codes or prefixes to run
    ignore = ["IL304"]                   # codes or prefixes to skip; longest prefix wins
    per_file_ignores = { "content/handbook/*.md" = ["IL301"] }
    severity = { IL305 = "error" }       # override a rule's default severity
    stale_after_days = 365               # age of a version-sensitive `checked` date

    [tool.infralens.claim_sections]      # sections whose bullets are claims; `*` = all
    labs = ["mental-model", "what-to-notice"]
    handbook = ["*"]

    [tool.infralens.execution]           # limits of one starter or check run
    timeout_s = 90
    cpu_s = 300
    memory_mb = 4096
    output_kib = 64
    jobs = 0                             # parallel runs; 0 means one per CPU

Command-line flags (`--select`, `--ignore`, `--timeout`, `--jobs`) override the file.
A key the pipeline does not know, or a value of the wrong type, is a configuration
error (exit 2) that names the key, never silence.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

DEFAULT_CLAIM_SECTIONS = {
    "labs": [
        "mental-model",
        "line-by-line-explanation",
        "what-to-notice",
        "common-misunderstandings",
    ],
    "handbook": ["*"],
}

CodePrefix = Annotated[str, StringConstraints(pattern=r"^IL[0-9]{0,3}$")]
"""`IL`, or `IL` and up to three digits: a rule code or a prefix of codes."""
Code = Annotated[str, StringConstraints(pattern=r"^IL[0-9]{3}$")]
PageKind = Literal["labs", "handbook"]


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

    select: list[CodePrefix] = Field(default_factory=lambda: ["IL"])
    """Rule codes or prefixes to run."""
    ignore: list[CodePrefix] = Field(default_factory=list)
    """Rule codes or prefixes to skip; the longest matching prefix wins."""
    per_file_ignores: dict[str, list[CodePrefix]] = Field(default_factory=dict)
    """Glob (repository-relative) to codes or prefixes ignored in matching files."""
    severity: dict[Code, Literal["error", "warning"]] = Field(default_factory=dict)
    """Code to `error` or `warning`, overriding a rule's default."""
    claim_sections: dict[PageKind, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_CLAIM_SECTIONS)
    )
    """Page kind (`labs`, `handbook`) to section slugs whose bullets are claims; `*`
    means all. A kind left out keeps its default."""
    stale_after_days: Annotated[int, Field(gt=0)] = 365
    """Age after which a version-sensitive reference's `checked` date is stale."""
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @field_validator("claim_sections")
    @classmethod
    def _keep_default_kinds(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {**DEFAULT_CLAIM_SECTIONS, **value}


def load_config(root: Path, override: Path | None = None) -> Config:
    path = override or root / "pyproject.toml"
    if override is not None and not override.is_file():
        raise ConfigError(f"configuration file `{override}` does not exist")
    if not path.is_file():
        return Config()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name}: {error}") from error
    table = data.get("tool", {}).get("infralens", {})
    if override is not None and not table and "tool" not in data:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path.name}: `tool.infralens` must be a table")
    try:
        config = Config.model_validate(table)
    except ValidationError as error:
        raise ConfigError(f"{path.name}: {describe(error)}") from error
    problems = [*unknown_codes(config), *unknown_sections(config)]
    if problems:
        raise ConfigError(f"{path.name}: invalid configuration: " + "; ".join(problems))
    return config


def unknown_code(code: str) -> str | None:
    """Why a well-formed code or prefix matches no rule (a typo that would silently
    turn checks off), or None when it matches one."""
    from validators.registry import all_rules

    if any(known.startswith(code) for known in all_rules()):
        return None
    return f"`{code}` matches no rule (`infralens rule --all` lists them)"


def unknown_codes(config: Config) -> list[str]:
    named = [
        *config.select,
        *config.ignore,
        *config.severity,
        *(code for codes in config.per_file_ignores.values() for code in codes),
    ]
    return [problem for code in named if (problem := unknown_code(code))]


def unknown_sections(config: Config) -> list[str]:
    """Lab claim sections must be real lab sections; handbook headings are free."""
    from validators.checks.structure import LAB_SECTIONS

    known = {slug for slug, _ in LAB_SECTIONS} | {"*"}
    return [
        f"`tool.infralens.claim_sections.labs`: `{slug}` is not a lab section "
        f"(known: {', '.join(sorted(known - {'*'}))})"
        for slug in config.claim_sections.get("labs", [])
        if slug not in known
    ]


def describe(error: ValidationError) -> str:
    """One readable line per problem, each naming its key as written in TOML."""
    parts = []
    for detail in error.errors(include_url=False):
        location = [str(part) for part in detail["loc"]]
        key = "tool.infralens" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}"
            for part in detail["loc"]
        )
        if detail["type"] == "extra_forbidden":
            parts.append(f"unknown key `{key}`{_suggestion(location)}")
        else:
            parts.append(f"`{key}`: {_message(detail)}")
    return "invalid configuration: " + "; ".join(parts)


def _message(detail: dict[str, object]) -> str:
    if detail["type"] == "string_pattern_mismatch":
        return (
            f"`{detail['input']}` is not a rule code or prefix such as `IL3` or `IL301`"
        )
    return str(detail["msg"])


def _suggestion(location: list[str]) -> str:
    model: type[BaseModel] = Config
    if location[:-1] == ["execution"]:
        model = ExecutionConfig
    elif len(location) > 1:
        return ""
    wanted = location[-1].replace("-", "_")
    close = difflib.get_close_matches(wanted, list(model.model_fields), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""
