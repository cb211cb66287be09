"""Every rule is documented, and `infralens rule` prints that documentation."""

from __future__ import annotations

import re

import pytest

from tests.helpers_cli import REPO, infralens
from validators.cli import main
from validators.diagnostics import Severity
from validators.registry import all_rules

RULES = all_rules()


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_documented(code: str) -> None:
    rule = RULES[code]
    assert re.fullmatch(r"IL\d{3}", rule.code)
    assert rule.code == code
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert isinstance(rule.severity, Severity)
    for part in ("summary", "why", "fails", "passes"):
        assert getattr(rule, part).strip(), f"{code} has no `{part}`"
    assert "\n" not in rule.summary
    assert rule.fails != rule.passes


def test_names_are_unique() -> None:
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))


def _assert_documented(code: str, out: str) -> None:
    rule = RULES[code]
    assert out.startswith(f"{code} {rule.name} ({rule.severity.value} by default)")
    for title, body in (
        ("What it checks", rule.summary),
        ("Why it matters", rule.why),
        ("Fails", rule.fails),
        ("Passes", rule.passes),
    ):
        assert f"\n{title}\n" in out
        for line in body.strip().splitlines():
            assert line.strip() in out


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_command_prints_the_documentation(
    code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process for each of the many rules; the subprocess test below runs the real
    # command for one of them.
    assert main(["rule", code.lower()]) == 0
    _assert_documented(code, capsys.readouterr().out)


def test_rule_command_in_a_subprocess() -> None:
    done = infralens(REPO, "rule", "IL201")
    assert done.returncode == 0, done.stderr
    _assert_documented("IL201", done.stdout)


def test_rule_all_lists_every_rule_once_in_code_order() -> None:
    done = infralens(REPO, "rule", "--all")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert listed == sorted(RULES)
    for line in done.stdout.splitlines():
        code, name, severity, *_ = line.split()
        assert (name, severity) == (RULES[code].name, RULES[code].severity.value)
        assert RULES[code].summary in line


@pytest.mark.parametrize("code", ["IL999", "E501", "il-301"])
def test_unknown_rule_is_exit_2(code: str) -> None:
    done = infralens(REPO, "rule", code)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"unknown rule `{code}`" in done.stderr
