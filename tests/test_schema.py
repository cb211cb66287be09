"""The committed JSON Schemas are what the pydantic models export."""

from __future__ import annotations

import json

import jsonschema
import yaml

from schema import export
from tests.helpers import LAB, REPO


def test_committed_schemas_are_fresh() -> None:
    assert export.stale_files() == [], "run `python -m schema.export`"


def test_lab_frontmatter_validates_against_the_exported_schema() -> None:
    text = (REPO / LAB).read_text("utf-8")
    frontmatter = yaml.safe_load(text.split("---\n", 2)[1])
    frontmatter = json.loads(json.dumps(frontmatter, default=str))
    schema = json.loads((REPO / "schema/lab.schema.json").read_text("utf-8"))
    jsonschema.validate(frontmatter, schema)
    frontmatter["number"] = "six"
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(frontmatter))
    assert errors


def test_our_packages_resolve_inside_the_repository() -> None:
    import schema as schema_package
    import validators

    for package in (schema_package, validators):
        assert REPO in __import__("pathlib").Path(package.__file__).resolve().parents
