"""Lab 06 starter: a small mixture-of-experts layer with expert-parallel routing.

Read it top to bottom: route (select, gates, capacity and drops), dispatch (permute,
exchange the counts, exchange the rows), expert compute, combine, then the dense
reference the whole layer must agree with. One process plays every rank, so each
all-to-all is a plain shuffle of NumPy arrays that you can print and check.

Real systems differ at every choice point, so this file fixes one variant of each:

- selection: softmax over all E experts, then the top k by probability; ties go to the
  lower expert index.
- gates: renormalised over the k selected experts BEFORE drops (Mixtral's formula,
  Megatron-Core's default post-softmax top-k, Tutel's normalize_gate). A dropped route
  gets weight 0, so a token's kept weights sum to at most 1. With k = 1 the single
  gate is therefore 1, unlike Switch and Tutel, which keep the raw probability.
- capacity: per source rank, from that rank's own token count:
  C = max(1, ceil(k * S_local * capacity_factor / E)).
- overflow: by queue position, GShard/Switch style (DeepSpeed top2gating, Tutel). All
  first choices queue before any second choice; within a choice, earlier tokens first.
- the gate multiplies the expert output at combine, on the source rank (DeepSpeed,
  Tutel, fairseq), not inside the expert as Megatron-Core does.

Routing (`route`) is kept apart from the exchange (`dispatch`, `combine`) so that a
distributed version can call the same routing on each rank's tokens.

Run it: python code/lab-06-expert-parallel-routing/expert_routing.py
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class MoEParams:
    """Router and expert weights. Expert e: relu(x @ w1[e] + b1[e]) @ w2[e] + b2[e]."""

    w_router: np.ndarray  # (d_model, E)
    w1: np.ndarray  # (E, d_model, d_hidden)
    b1: np.ndarray  # (E, d_hidden)
    w2: np.ndarray  # (E, d_hidden, d_model)
    b2: np.ndarray  # (E, d_model)

    @property
    def num_experts(self) -> int:
        return self.w_router.shape[1]


def make_example(
    seed: int, *, num_tokens: int, d_model: int, num_experts: int, d_hidden: int
) -> tuple[np.ndarray, MoEParams]:
    """Seeded tokens x of shape (num_tokens, d_model) and layer parameters."""
    # One generator, drawn from in a fixed order: the same seed gives the same bits.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_tokens, d_model))
    params = MoEParams(
        w_router=rng.standard_normal((d_model, num_experts)),
        w1=rng.standard_normal((num_experts, d_model, d_hidden)) / np.sqrt(d_model),
        b1=rng.standard_normal((num_experts, d_hidden)) * 0.1,
        w2=rng.standard_normal((num_experts, d_hidden, d_model)) / np.sqrt(d_hidden),
        b2=rng.standard_normal((num_experts, d_model)) * 0.1,
    )
    return x, params


def expert_mlp(rows: np.ndarray, params: MoEParams, expert: int) -> np.ndarray:
    """One expert's feed-forward network applied to the rows routed to it."""
    hidden = np.maximum(rows @ params.w1[expert] + params.b1[expert], 0.0)
    return hidden @ params.w2[expert] + params.b2[expert]


def shard_sizes(num_tokens: int, world_size: int) -> np.ndarray:
    """Tokens held by each rank: contiguous slices with np.array_split sizes.

    When world_size does not divide num_tokens, the first num_tokens % world_size ranks
    hold one token more than the others; with fewer tokens than ranks, some hold none.
    """
    base, extra = divmod(num_tokens, world_size)
    return np.array([base + (rank < extra) for rank in range(world_size)])


def expert_owner(expert: np.ndarray, experts_per_rank: int) -> np.ndarray:
    """The rank that holds each expert: rank r owns experts r*L .. r*L + L - 1."""
    return expert // experts_per_rank


def shard_slices(sizes: np.ndarray) -> tuple[slice, ...]:
    """The token range of each rank, given the number of tokens each holds."""
    starts = np.cumsum(sizes) - sizes
    return tuple(slice(int(a), int(a + n)) for a, n in zip(starts, sizes, strict=True))


# region: select
def softmax(logits: np.ndarray) -> np.ndarray:
    """Router probabilities over all E experts, one row per token."""
    # Subtracting the row maximum changes nothing mathematically and keeps exp() finite.
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def select_top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """The k best experts of each token, best first; ties go to the lower index."""
    # A stable sort of -probs keeps equal scores in index order, so ties are
    # deterministic. torch.topk makes no such promise about ties.
    return np.argsort(-probs, axis=1, kind="stable")[:, :k]


def normalise_gates(probs: np.ndarray, experts: np.ndarray) -> np.ndarray:
    """Each selected route's probability, renormalised over the token's k choices."""
    # Renormalised BEFORE capacity drops (Mixtral, Megatron-Core, Tutel): each row sums
    # to 1 here, and a later drop zeroes its route without renormalising the rest.
    selected = np.take_along_axis(probs, experts, axis=1)
    return selected / selected.sum(axis=1, keepdims=True)


# endregion: select


# region: capacity
def expert_capacity(
    local_tokens: int, num_experts: int, k: int, capacity_factor: Fraction
) -> int:
    """C = max(1, ceil(k * S_local * capacity_factor / E)), in exact integers.

    This is Megatron-Core's get_capacity(S_local * k, E, cf) and DeepSpeed's _capacity
    with min_capacity=0. The floor of 1 only matters for a rank that holds no tokens.
    """
    cf = Fraction(capacity_factor)  # exact, so no float boundary can round differently
    numerator = k * local_tokens * cf.numerator
    denominator = num_experts * cf.denominator
    return max(1, -(-numerator // denominator))  # -(-a // b) == ceil(a / b)


def position_keep_mask(
    experts: np.ndarray, num_experts: int, capacity: int
) -> np.ndarray:
    """Which routes (token, choice) of ONE source rank fit their expert's capacity."""
    # One queue per expert (DeepSpeed top2gating, Tutel): every first choice joins
    # before any second choice, and within one choice, earlier tokens join first.
    queue = experts.T.reshape(-1)  # choice-major: all 1st choices, then all 2nd, ...
    joins = queue[:, None] == np.arange(num_experts)  # one-hot, (k * S, E)
    position = np.cumsum(joins, axis=0)[np.arange(queue.size), queue] - 1
    kept_in_queue_order = position < capacity
    return kept_in_queue_order.reshape(experts.T.shape).T  # back to (S, k)


# endregion: capacity


@dataclass(frozen=True)
class Routing:
    """Every routing decision, made before any data moves (T tokens, R ranks)."""

    probs: np.ndarray  # (T, E) softmax over all experts
    experts: np.ndarray  # (T, k) selected experts, best first
    gates: np.ndarray  # (T, k) renormalised over the k selected, before drops
    kept: np.ndarray  # (T, k) True where the route fits in its expert's capacity
    tokens_per_rank: np.ndarray  # (R,) tokens each rank holds
    capacity: np.ndarray  # (R,) C of each source rank
    demand: np.ndarray  # (R, E) routes from each rank to each expert, before drops
    kept_counts: np.ndarray  # (R, E) routes that survive the capacity check

    @property
    def kept_gates(self) -> np.ndarray:
        """(T, k) gates after drops: dropped routes weigh 0, the rest are unchanged."""
        return np.where(self.kept, self.gates, 0.0)

    @property
    def shards(self) -> tuple[slice, ...]:
        return shard_slices(self.tokens_per_rank)

    @property
    def num_experts(self) -> int:
        return self.probs.shape[1]


def count_per_expert(experts: np.ndarray, num_experts: int) -> np.ndarray:
    return np.bincount(experts.reshape(-1), minlength=num_experts)


def route_rank(
    x_local: np.ndarray, w_router: np.ndarray, *, k: int, capacity_factor: Fraction
) -> Routing:
    """Route ONE rank's tokens: everything a distributed rank can decide on its own."""
    num_experts = w_router.shape[1]
    logits = x_local @ w_router
    probs = softmax(logits)
    experts = select_top_k(probs, k)
    capacity = expert_capacity(len(x_local), num_experts, k, capacity_factor)
    kept = position_keep_mask(experts, num_experts, capacity)
    return Routing(
        probs=probs,
        experts=experts,
        gates=normalise_gates(probs, experts),
        kept=kept,
        tokens_per_rank=np.array([len(x_local)]),
        capacity=np.array([capacity]),
        demand=count_per_expert(experts, num_experts)[None, :],
        kept_counts=count_per_expert(experts[kept], num_experts)[None, :],
    )


def route(
    x: np.ndarray,
    w_router: np.ndarray,
    *,
    k: int,
    capacity_factor: Fraction,
    world_size: int,
) -> Routing:
    """Route all tokens, each rank deciding drops from its own contiguous shard.

    C is a per-source-rank budget, so the same tokens sharded over a different
    world_size can drop different routes; compare layers at one world_size, or
    with a capacity_factor large enough that nothing drops.
    """
    num_experts = w_router.shape[1]
    if not 1 <= k <= num_experts:
        raise ValueError(f"k must be in 1..{num_experts}, got {k}")
    if world_size < 1 or num_experts % world_size:
        raise ValueError(f"world_size {world_size} must divide E = {num_experts}")
    if Fraction(capacity_factor) <= 0:
        raise ValueError(f"capacity_factor must be positive, got {capacity_factor}")
    shards = shard_slices(shard_sizes(len(x), world_size))
    per_rank = [
        route_rank(x[s], w_router, k=k, capacity_factor=capacity_factor) for s in shards
    ]
    # Every field stacks along its first axis: tokens for per-token fields, ranks for
    # per-rank fields.
    return Routing(
        **{
            f.name: np.concatenate([getattr(r, f.name) for r in per_rank])
            for f in fields(Routing)
        }
    )


def gate_matrix(experts: np.ndarray, gates: np.ndarray, num_experts: int) -> np.ndarray:
    """Scatter (T, k) per-choice gates into a dense (T, E) matrix, zero elsewhere."""
    dense = np.zeros((len(experts), num_experts))
    np.put_along_axis(dense, experts, gates, axis=1)
    return dense


# region: all-to-all
def all_to_all_single(
    send_buffers: list[np.ndarray],
    send_splits: np.ndarray,
    recv_splits: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Simulate torch.distributed.all_to_all_single for R ranks in one process.

    send_splits[r] is rank r's input_split_sizes: its buffer is cut into R chunks along
    the first axis, and chunk s goes to rank s. Rank s receives the chunks of ranks
    0..R-1 in rank order, so its output_split_sizes are column s of send_splits. Like
    the real call, it fails if a rank's recv_splits (when given) disagree with that.
    """
    send_splits = np.asarray(send_splits)
    for rank, buffer in enumerate(send_buffers):
        if len(buffer) != send_splits[rank].sum():
            raise ValueError(f"rank {rank}: input splits != {len(buffer)} rows")
    if recv_splits is not None and not np.array_equal(recv_splits, send_splits.T):
        raise ValueError("output split sizes disagree with what the peers send")
    chunks = [
        np.split(buffer, np.cumsum(splits)[:-1])
        for buffer, splits in zip(send_buffers, send_splits, strict=True)
    ]
    world = range(len(send_buffers))
    return [np.concatenate([chunks[src][dst] for src in world]) for dst in world]


# endregion: all-to-all


@dataclass(frozen=True)
class SendPlan:
    """One source rank's kept routes in send-buffer order."""

    tokens: np.ndarray  # local token index of each buffer row
    choices: np.ndarray  # which of the token's k choices the row carries
    experts: np.ndarray  # destination expert of each row


@dataclass(frozen=True)
class Dispatched:
    """What the two dispatch all-to-alls delivered, and the split matrices they used."""

    rows: list[np.ndarray]  # rows[s]: what rank s received, by source rank
    counts_in: list[np.ndarray]  # counts_in[s]: (R, L) rows per source, local expert
    send_counts: np.ndarray  # (R, R) send_counts[r, s]: rows rank r sends to rank s
    recv_counts: np.ndarray  # (R, R) recv_counts[s, r]: rows rank s gets from rank r


# region: dispatch
def plan_sends(experts: np.ndarray, kept: np.ndarray) -> SendPlan:
    """Permute one rank's kept routes expert-major, tokens ascending per expert."""
    tokens, choices = np.nonzero(kept)  # token-major, so tokens ascend
    # A stable sort by expert keeps that token order inside each expert (Megatron's
    # permute). An owner's experts are contiguous, so rows group by destination too.
    order = np.argsort(experts[tokens, choices], kind="stable")
    tokens, choices = tokens[order], choices[order]
    return SendPlan(tokens, choices, experts[tokens, choices])


def dispatch(
    x_shards: list[np.ndarray], plans: list[SendPlan], num_experts: int
) -> Dispatched:
    """Counts first, then rows: the two all-to-alls of a variable-split dispatcher."""
    R, L = len(plans), num_experts // len(plans)
    send_counts = np.stack(
        [np.bincount(expert_owner(p.experts, L), minlength=R) for p in plans]
    )
    # Each rank first tells every owner how many rows of each of its L experts to
    # expect, so receivers can size buffers and split them by expert (Megatron-Core
    # all-gathers the same numbers).
    rows_per_expert = [count_per_expert(p.experts, num_experts) for p in plans]
    counts = all_to_all_single(rows_per_expert, np.full((R, R), L))
    counts_in = [c.reshape(R, L) for c in counts]  # (source rank, local expert)
    recv_counts = np.stack([c.sum(axis=1) for c in counts_in])
    buffers = [x[p.tokens] for x, p in zip(x_shards, plans, strict=True)]
    rows = all_to_all_single(buffers, send_counts, recv_counts)
    return Dispatched(rows, counts_in, send_counts, recv_counts)


# endregion: dispatch


# region: experts
def run_local_experts(
    rows: np.ndarray, counts_in: np.ndarray, params: MoEParams, rank: int
) -> np.ndarray:
    """Apply rank's experts to the rows it received; the output keeps the row order."""
    world_size, experts_per_rank = counts_in.shape
    # Rows arrive source by source, and each source's chunk is expert-major.
    local_ids = np.tile(np.arange(experts_per_rank), world_size)
    row_expert = np.repeat(local_ids, counts_in.reshape(-1))
    out = np.zeros_like(rows)
    for local in range(experts_per_rank):
        mine = row_expert == local
        out[mine] = expert_mlp(rows[mine], params, rank * experts_per_rank + local)
    return out


# endregion: experts


# region: combine
def combine(
    expert_out: list[np.ndarray],
    sent: Dispatched,
    plans: list[SendPlan],
    routing: Routing,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Send every processed row home and sum each token's gate-weighted copies."""
    # The reverse all-to-all uses the TRANSPOSED split matrix: rank s sends back the
    # recv_counts[s, r] rows it got from r, and r expects the send_counts[r, s] it sent.
    combine_send_counts, combine_recv_counts = sent.recv_counts, sent.send_counts
    returned = all_to_all_single(expert_out, combine_send_counts, combine_recv_counts)
    outputs = []
    for rows, plan, shard in zip(returned, plans, routing.shards, strict=True):
        # Rows return in the order this rank sent them, so the plan still labels them.
        weight = routing.kept_gates[shard][plan.tokens, plan.choices]
        y = np.zeros((shard.stop - shard.start, rows.shape[1]))
        # add.at sums a token's k copies into its original position; a dropped route
        # was never sent, so it adds nothing.
        np.add.at(y, plan.tokens, weight[:, None] * rows)
        outputs.append(y)
    return outputs, combine_send_counts, combine_recv_counts


# endregion: combine


# region: aux-loss
def load_balancing_loss(probs: np.ndarray, experts: np.ndarray) -> float:
    """Switch-style auxiliary loss E * sum_e f_e * P_e, from the pre-drop routes.

    f_e is the share of all T * k routes that chose expert e, P_e the mean router
    probability of e. It equals 1 whenever the counts are uniform (whatever P is) and
    whenever P is uniform (whatever the counts are), and it is at most E / k. It is
    NOT bounded below by 1: E=2, top-1, probability rows (.51, .49), (.51, .49),
    (0, 1) give about 0.893.
    """
    num_experts = probs.shape[1]
    f = count_per_expert(experts, num_experts) / experts.size
    P = probs.mean(axis=0)
    return float(num_experts * np.sum(f * P))


# endregion: aux-loss


@dataclass(frozen=True)
class MoEResult:
    """The layer output and every decision and count that produced it."""

    output: np.ndarray  # (T, d_model) in the original token order
    routing: Routing  # probs, experts, gates, kept, capacity, demand, kept_counts
    send_counts: np.ndarray  # (R, R) [r, s]: dispatch rows rank r sends to rank s
    recv_counts: np.ndarray  # (R, R) [s, r]: dispatch rows rank s receives from r
    combine_send_counts: np.ndarray  # (R, R) [s, r]: combine rows s sends back to r
    combine_recv_counts: np.ndarray  # (R, R) [r, s]: combine rows r receives from s
    send_rows: np.ndarray  # (R,) rows in each rank's dispatch send buffer
    recv_rows: np.ndarray  # (R,) rows each rank's experts processed
    aux_loss: float

    @property
    def gates_before_drops(self) -> np.ndarray:
        """(T, E) gate matrix before capacity drops."""
        r = self.routing
        return gate_matrix(r.experts, r.gates, r.num_experts)

    @property
    def gates_after_drops(self) -> np.ndarray:
        """(T, E) gate matrix actually applied at combine."""
        r = self.routing
        return gate_matrix(r.experts, r.kept_gates, r.num_experts)


def moe_layer_expert_parallel(
    x: np.ndarray,
    params: MoEParams,
    *,
    k: int,
    capacity_factor: Fraction,
    world_size: int,
) -> MoEResult:
    """The MoE layer with experts spread over world_size simulated ranks."""
    routing = route(
        x, params.w_router, k=k, capacity_factor=capacity_factor, world_size=world_size
    )
    shards = routing.shards
    plans = [plan_sends(routing.experts[s], routing.kept[s]) for s in shards]
    sent = dispatch([x[s] for s in shards], plans, params.num_experts)
    expert_out = [
        run_local_experts(sent.rows[rank], sent.counts_in[rank], params, rank)
        for rank in range(world_size)
    ]
    outputs, combine_send_counts, combine_recv_counts = combine(
        expert_out, sent, plans, routing
    )
    return MoEResult(
        output=np.concatenate(outputs),
        routing=routing,
        send_counts=sent.send_counts,
        recv_counts=sent.recv_counts,
        combine_send_counts=combine_send_counts,
        combine_recv_counts=combine_recv_counts,
        send_rows=np.array([len(p.tokens) for p in plans]),
        recv_rows=np.array([len(rows) for rows in sent.rows]),
        aux_loss=load_balancing_loss(routing.probs, routing.experts),
    )


# region: dense-reference
def dense_reference(x: np.ndarray, params: MoEParams, routing: Routing) -> np.ndarray:
    """y_t = sum over kept e of w_te * expert_e(x_t): one process, no exchange at all.

    It reuses routing's decisions (including drops), so any difference from the
    expert-parallel output comes from the dispatch, expert and combine steps.
    """
    weights = gate_matrix(routing.experts, routing.kept_gates, params.num_experts)
    y = np.zeros_like(x)
    for expert in range(params.num_experts):
        y += weights[:, expert, None] * expert_mlp(x, params, expert)
    return y


# endregion: dense-reference


def describe(result: MoEResult, dense: np.ndarray) -> str:
    """A short, human-readable trace of one forward pass."""
    r = result.routing
    total = r.experts.size
    dropped = total - int(r.kept.sum())
    lines = [
        f"tokens per rank:  {r.tokens_per_rank.tolist()}",
        f"capacity C per source rank: {r.capacity.tolist()}"
        "  (C = ceil(k * S_local * capacity_factor / E))",
        f"demand per expert (rank x expert, before drops):\n{r.demand}",
        f"kept per expert   (rank x expert, after drops):\n{r.kept_counts}",
        f"load per expert (rows it computes): {r.kept_counts.sum(axis=0).tolist()}",
        f"dropped routes: {dropped} of {total}",
        "dispatch send counts [r, s] (rows rank r sends to rank s):",
        str(result.send_counts),
        "dispatch recv counts [s, r] (rows rank s receives from rank r):",
        str(result.recv_counts),
        "combine send counts [s, r] (the transpose of dispatch's send counts):",
        str(result.combine_send_counts),
        f"max |EP - dense| = {np.abs(result.output - dense).max():.2e}",
        f"aux loss = {result.aux_loss:.4f}  (1.0 when expert counts are uniform)",
    ]
    return "\n".join(lines)


def main() -> None:
    k, world_size, capacity_factor = 2, 2, Fraction(1)
    x, params = make_example(
        seed=6, num_tokens=12, d_model=4, num_experts=4, d_hidden=8
    )
    print(
        f"MoE layer: T={len(x)} tokens, d_model={x.shape[1]}, "
        f"E={params.num_experts} experts, k={k}, capacity_factor={capacity_factor}, "
        f"world_size={world_size} (expert e lives on rank e // "
        f"{params.num_experts // world_size})"
    )
    result = moe_layer_expert_parallel(
        x, params, k=k, capacity_factor=capacity_factor, world_size=world_size
    )
    print(describe(result, dense_reference(x, params, result.routing)))


if __name__ == "__main__":
    main()
