"""Execution of starters and their invariant checks, for the pipeline's CLI.

One module per stage: ``sandbox`` (one bounded, isolated run; ``supervise`` is its
process-tree supervisor), ``invariant_plugin`` (the pytest plugin binding tests to
invariants), ``runner`` (starters, checks, and ``run_many``), ``imports`` (a starter's
local imports), ``cache`` (results keyed by their inputs) and ``progress``.
"""
