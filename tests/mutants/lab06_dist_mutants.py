"""Mutants of the distributed Lab 06 starter, for the mutation tests.

MUTANTS maps a mutant's name to (old, new, invariant): `old` occurs exactly once in
code/lab-06-expert-parallel-routing/expert_routing_dist.py, replacing it with `new`
plants one realistic exchange bug, and `invariant` is the id of the invariant whose
checks must fail on the mutated starter.
"""

from __future__ import annotations

STARTER = "code/lab-06-expert-parallel-routing/expert_routing_dist.py"
CHECKS = "code/lab-06-expert-parallel-routing/invariants_expert_routing_dist.py"

MUTANTS: dict[str, tuple[str, str, str]] = {
    # Combine: the reverse all-to-all reuses the dispatch splits instead of swapping
    # them. Harmless at R = 1; at R > 1 rows go to the wrong ranks, or the call fails
    # because the split sizes no longer add up to the buffer.
    "combine-splits-not-swapped": (
        "combine_send_splits, combine_recv_splits = recv_splits, send_splits",
        "combine_send_splits, combine_recv_splits = send_splits, recv_splits",
        "dist-count-agreement",
    ),
    # Stale counts: the receiver never uses the exchanged counts and assumes it gets
    # from each peer what it sends to it. gloo does not check the sizes up front:
    # rows land in the wrong places, or a rank aborts when more arrives than expected.
    "receive-counts-not-exchanged": (
        "recv_splits = counts_in.sum(axis=1).tolist()",
        "recv_splits = list(send_splits)",
        "dist-count-agreement",
    ),
    # Stale counts: the counts describe the routes before the capacity drops, while
    # the payload holds only the kept rows.
    "counts-from-before-drops": (
        "rows_per_expert = er.count_per_expert(plan.experts, num_experts)",
        "rows_per_expert = er.count_per_expert(routing.experts.ravel(), num_experts)",
        "dist-count-agreement",
    ),
    # Received rows read as expert-major across sources, when they arrive source by
    # source (the reordering Megatron-Core's sort_chunks_by_idxs exists for).
    "received-rows-read-expert-major": (
        "local_ids = np.tile(np.arange(per_rank), world)",
        "local_ids = np.repeat(np.arange(per_rank), world)",
        "dist-matches-numpy",
    ),
    # Every rank loads the weights of experts 0 .. L-1 instead of its own.
    "every-rank-loads-the-first-experts": (
        "owned = slice(rank * per_rank, (rank + 1) * per_rank)",
        "owned = slice(0, per_rank)",
        "dist-matches-numpy",
    ),
}
