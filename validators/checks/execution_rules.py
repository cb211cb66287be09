"""Rules of the execution guarantee, and the record of one run.

Kept apart from `execution.py` so that a static check, which reports these codes but
never runs anything, does not import the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from validators.diagnostics import Severity
from validators.registry import Rule

E = Severity.ERROR

RULES = (
    Rule(
        "IL501",
        "starter-failed",
        "A routing starter runs as a script and exits 0.",
        E,
        "A starter that crashes teaches nothing and proves nothing.",
        "raise SystemExit(1)\n",
        "print('per-expert load: ...')\n",
    ),
    Rule(
        "IL502",
        "starter-timeout",
        "A routing starter (and its checks) finish within the timeout.",
        E,
        "A hanging starter blocks every author's commit; the whole process tree is killed at the limit.",
        "while True: pass\n",
        "a bounded example\n",
    ),
    Rule(
        "IL503",
        "invariant-unbound",
        "Every invariant a lab states has at least one check bound to it.",
        E,
        "An invariant nobody checks is a promise, not a guarantee.",
        "invariants: [{id: combine-order, ...}] and no @pytest.mark.invariant('combine-order')\n",
        "@pytest.mark.invariant('combine-order')\ndef test_combine_restores_order(): ...\n",
    ),
    Rule(
        "IL504",
        "check-unbound",
        "Every check is bound to an invariant the lab states.",
        E,
        "A check bound to nothing (or to a misspelt id) proves nothing the reader can see.",
        "@pytest.mark.invariant('no-such-invariant')\n",
        "@pytest.mark.invariant('combine-order')\n",
    ),
    Rule(
        "IL505",
        "invariant-failed",
        "Every check bound to an invariant passes.",
        E,
        "The page states the invariant as true; a failing check means it is not.",
        "a combine that returns tokens in expert order\n",
        "a combine that restores token order\n",
    ),
    Rule(
        "IL506",
        "invariant-timeout",
        "Checks of an invariant finish within the timeout.",
        E,
        "An invariant whose checks never finish is not proved.",
        "an unbounded hypothesis search\n",
        "max_examples set\n",
    ),
    Rule(
        "IL507",
        "routing-without-invariants",
        "A routing starter states invariants and names its checks file.",
        E,
        "Routing code is what the invariants exist for; without them nothing is proved.",
        "role: routing\n(no invariants)\n",
        "role: routing\ninvariants: [...]\nchecks: code/lab/invariants_x.py\n",
    ),
    Rule(
        "IL508",
        "starter-not-run",
        "A starter whose requirements are missing is reported as not run (an error under `--require-all`).",
        Severity.WARNING,
        "Skipping must be visible, never silent.",
        "requires: [torch] without torch installed\n",
        "torch installed\n",
    ),
)


@dataclass(frozen=True)
class RunRecord:
    """One execution job and how it ended, for notes and the audit."""

    page: str
    starter: str
    kind: str
    status: str
    cached: bool = False
    note: str = ""
