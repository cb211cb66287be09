"""Mutants of the Lab 06 routing starter, for the mutation tests.

MUTANTS maps a mutant's name to (old, new, invariant): `old` occurs exactly once in
code/lab-06-expert-parallel-routing/expert_routing.py, replacing it with `new` plants
one realistic routing bug, and `invariant` is the id of the invariant whose checks
must fail on the mutated starter.
"""

from __future__ import annotations

STARTER = "code/lab-06-expert-parallel-routing/expert_routing.py"
CHECKS = "code/lab-06-expert-parallel-routing/invariants_expert_routing.py"

MUTANTS: dict[str, tuple[str, str, str]] = {
    # Selection: ties resolved toward the higher expert index.
    "tie-goes-to-higher-index": (
        'return np.argsort(-probs, axis=1, kind="stable")[:, :k]',
        'return np.argsort(probs, axis=1, kind="stable")[:, ::-1][:, :k]',
        "topk-distinct-best",
    ),
    # Capacity: one route too many per (rank, expert).
    "capacity-keeps-c-plus-one": (
        "kept_in_queue_order = position < capacity",
        "kept_in_queue_order = position <= capacity",
        "capacity-bound",
    ),
    # Capacity: floor instead of ceil in the formula.
    "capacity-floor-not-ceil": (
        "return max(1, -(-numerator // denominator))",
        "return max(1, numerator // denominator)",
        "capacity-bound",
    ),
    # Capacity: queue positions counted from 1, so only C - 1 routes fit.
    "capacity-keeps-c-minus-one": (
        "position = np.cumsum(joins, axis=0)[np.arange(queue.size), queue] - 1",
        "position = np.cumsum(joins, axis=0)[np.arange(queue.size), queue]",
        "no-spurious-drops",
    ),
    # Spurious drops below capacity, shaped like DeepSpeed #7986: routes whose raw
    # logit is negative lose their slot.
    "negative-logit-routes-dropped": (
        "kept = position_keep_mask(experts, num_experts, capacity)",
        "kept = position_keep_mask(experts, num_experts, capacity) & (\n"
        "        np.take_along_axis(logits, experts, axis=1) > 0\n"
        "    )",
        "no-spurious-drops",
    ),
    # Drop rule: one flat token-major queue, so a token's second choice can take a
    # slot before a later token's first choice (DeepSpeed topkgating 'position').
    "drop-ignores-choice-priority": (
        "queue = experts.T.reshape(-1)"
        "  # choice-major: all 1st choices, then all 2nd, ...\n"
        "    joins = queue[:, None] == np.arange(num_experts)  # one-hot, (k * S, E)\n"
        "    position = np.cumsum(joins, axis=0)[np.arange(queue.size), queue] - 1\n"
        "    kept_in_queue_order = position < capacity\n"
        "    return kept_in_queue_order.reshape(experts.T.shape).T",
        "queue = experts.reshape(-1)\n"
        "    joins = queue[:, None] == np.arange(num_experts)\n"
        "    position = np.cumsum(joins, axis=0)[np.arange(queue.size), queue] - 1\n"
        "    kept_in_queue_order = position < capacity\n"
        "    return kept_in_queue_order.reshape(experts.shape)",
        "drop-rule",
    ),
    # Drop rule: tokens with the highest top score queue first (Tutel's
    # batch-prioritized routing) instead of token order.
    "drop-by-score": (
        "kept = position_keep_mask(experts, num_experts, capacity)",
        'priority = np.argsort(-probs.max(axis=1), kind="stable")\n'
        "    kept = np.empty_like(experts, dtype=bool)\n"
        "    kept[priority] = position_keep_mask(\n"
        "        experts[priority], num_experts, capacity\n"
        "    )",
        "drop-rule",
    ),
    # Dispatch: dropped routes are sent anyway (their weight is 0, so the output is
    # unchanged; only the row counts show the wasted traffic).
    "dispatch-sends-dropped-routes": (
        "tokens, choices = np.nonzero(kept)",
        "tokens, choices = np.nonzero(np.ones_like(kept))",
        "route-conservation",
    ),
    # Combine: the reverse all-to-all reuses dispatch's split matrix untransposed.
    "combine-splits-not-transposed": (
        "combine_send_counts, combine_recv_counts = sent.recv_counts, sent.send_counts",
        "combine_send_counts, combine_recv_counts = sent.send_counts, sent.recv_counts",
        "split-symmetry",
    ),
    # Gates: the raw softmax probabilities of the k selected, not renormalised.
    "gates-not-renormalised": (
        "return selected / selected.sum(axis=1, keepdims=True)",
        "return selected",
        "gate-contract",
    ),
    # Gates: renormalised again over the kept routes after drops.
    "gates-renormalised-after-drops": (
        "return np.where(self.kept, self.gates, 0.0)",
        "kept = np.where(self.kept, self.gates, 0.0)\n"
        "        return kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-300)",
        "gate-contract",
    ),
    # Combine: the returned rows are added to the wrong tokens (order not restored).
    "combine-order-not-restored": (
        "np.add.at(y, plan.tokens, weight[:, None] * rows)",
        "np.add.at(y, np.sort(plan.tokens), weight[:, None] * rows)",
        "identity-round-trip",
    ),
    # Expert compute: rank r applies experts 0..L-1 instead of the ones it owns.
    "rank-runs-wrong-experts": (
        "expert_mlp(rows[mine], params, rank * experts_per_rank + local)",
        "expert_mlp(rows[mine], params, local)",
        "dense-equivalence",
    ),
    # Aux loss: f_e divided by T instead of T * k.
    "aux-loss-ignores-k": (
        "f = count_per_expert(experts, num_experts) / experts.size",
        "f = count_per_expert(experts, num_experts) / len(experts)",
        "aux-loss-uniform",
    ),
    # Seeding: the generator ignores the seed.
    "seed-ignored": (
        "rng = np.random.default_rng(seed)",
        "rng = np.random.default_rng(0)",
        "seed-determinism",
    ),
}
