"""Write (or check) the JSON Schemas that editors use to complete frontmatter.

python -m schema.export          # rewrite the committed files
python -m schema.export --check  # exit 1 when they are stale
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from schema.models import HandbookFrontmatter, LabFrontmatter

HERE = Path(__file__).parent
SCHEMAS: dict[str, type[BaseModel]] = {
    "lab.schema.json": LabFrontmatter,
    "handbook.schema.json": HandbookFrontmatter,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale_files() -> list[str]:
    return [
        name
        for name, model in SCHEMAS.items()
        if not (HERE / name).exists()
        or (HERE / name).read_text("utf-8") != render(model)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--check" in args:
        stale = stale_files()
        for name in stale:
            print(
                f"schema/{name} is stale: run `python -m schema.export`",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for name, model in SCHEMAS.items():
        (HERE / name).write_text(render(model), encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
