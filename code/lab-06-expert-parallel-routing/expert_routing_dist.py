"""Lab 06 starter, distributed: the same MoE layer over torch.distributed.

expert_routing.py plays every rank inside one process and simulates each all-to-all by
shuffling NumPy arrays. Here every rank is a real process and every exchange is a real
collective. Start it with the standard launcher, one process per rank:

    torchrun --nproc-per-node 2 --standalone code/lab-06-expert-parallel-routing/expert_routing_dist.py

(1, 2 or 4 processes: the world size must divide the E = 4 experts.) On CPUs the ranks
talk through gloo; where CUDA gives every rank its own GPU, the same file uses NCCL.

Routing is NOT written again here. Every rank imports expert_routing as a sibling
module, builds the same seeded tokens and weights, takes its contiguous shard of the
tokens, and calls that module's route_rank and plan_sends on it: the same top-k, the
same gates, the same capacity and drop decisions. What this file adds is the movement
of data, four steps on every rank:

1. counts: an all-to-all of per-expert row counts, so every expert owner learns how
   many rows to expect from each rank before any row moves;
2. payload: all_to_all_single(output, input, output_split_sizes, input_split_sizes)
   with a different number of rows per peer, as Megatron-Core's
   MoEAlltoAllTokenDispatcher does;
3. experts: each rank runs its own L = E / R experts on the rows it received;
4. combine: the same call in reverse with the two split lists swapped, then every
   token sums its gate-weighted copies in its original position.

At the end each rank compares its output with the NumPy layer's output for its own
tokens and exits non-zero if they differ, so the two files cannot drift apart silently.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction

import expert_routing as er
import numpy as np
import torch
import torch.distributed as dist

# The example of expert_routing.main(): same seed, same shapes, same routing knobs.
SEED, NUM_TOKENS, D_MODEL, NUM_EXPERTS, D_HIDDEN = 6, 12, 4, 4, 8
K, CAPACITY_FACTOR = 2, Fraction(1)
# The routing decisions and every count are identical by construction; only the
# floating-point sums may round differently (torch and NumPy add in different orders).
TOLERANCE = 1e-9


def pick_backend() -> tuple[str, torch.device]:
    """NCCL when every local rank can have a GPU of its own, otherwise gloo on the CPU."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    # NCCL refuses two ranks on one GPU, so too few GPUs means gloo, not a crash.
    if torch.cuda.is_available() and torch.cuda.device_count() >= local_world:
        torch.cuda.set_device(local_rank)
        return "nccl", torch.device("cuda", local_rank)
    return "gloo", torch.device("cpu")


@dataclass(frozen=True)
class LocalExperts:
    """The weights of the L experts one rank owns: global ids first .. first + L - 1."""

    first: int
    w1: torch.Tensor  # (L, d_model, d_hidden)
    b1: torch.Tensor  # (L, d_hidden)
    w2: torch.Tensor  # (L, d_hidden, d_model)
    b2: torch.Tensor  # (L, d_model)

    @classmethod
    def of_rank(
        cls, params: er.MoEParams, rank: int, per_rank: int, device: torch.device
    ) -> LocalExperts:
        # A real rank would load only these weights; here every rank slices the same
        # seeded ones, so its experts are exactly the NumPy starter's.
        owned = slice(rank * per_rank, (rank + 1) * per_rank)

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array[owned]).to(device)

        return cls(
            rank * per_rank,
            tensor(params.w1),
            tensor(params.b1),
            tensor(params.w2),
            tensor(params.b2),
        )

    def apply(self, local: int, rows: torch.Tensor) -> torch.Tensor:
        """Local expert `local` (global id first + local), as expert_routing.expert_mlp."""
        hidden = torch.relu(rows @ self.w1[local] + self.b1[local])
        return hidden @ self.w2[local] + self.b2[local]


@dataclass(frozen=True)
class RankResult:
    """What one rank computed, and every split size it handed to a collective."""

    output: np.ndarray  # (S_local, d_model): this rank's tokens, in their order
    routing: er.Routing  # this rank's decisions, made by expert_routing.route_rank
    counts_in: np.ndarray  # (R, L): rows received from each rank for each local expert
    send_splits: list[int]  # dispatch input_split_sizes: rows sent to each rank
    recv_splits: list[int]  # dispatch output_split_sizes: rows received from each
    combine_send_splits: list[int]  # combine input_split_sizes: rows sent back
    combine_recv_splits: list[int]  # combine output_split_sizes: rows coming home


def moe_layer_on_rank(
    x_local: np.ndarray,
    params: er.MoEParams,
    *,
    k: int,
    capacity_factor: Fraction,
    device: torch.device,
) -> RankResult:
    """One rank's share of the expert-parallel MoE layer, inside a process group."""
    rank, world = dist.get_rank(), dist.get_world_size()
    num_experts, d_model = params.num_experts, x_local.shape[1]
    if num_experts % world:
        raise ValueError(f"world size {world} must divide E = {num_experts}")
    per_rank = num_experts // world  # L: rank r owns experts r*L .. r*L + L - 1

    # region: route-locally
    # Everything a rank can decide alone, with the NumPy starter's own functions:
    # top-k, gates, this rank's capacity C, which routes fit, and the send order
    # (expert-major, tokens ascending within each expert, like Megatron's permute).
    routing = er.route_rank(
        x_local, params.w_router, k=k, capacity_factor=capacity_factor
    )
    plan = er.plan_sends(routing.experts, routing.kept)
    # endregion: route-locally

    # region: exchange-counts
    # Rows for each of the E experts; an owner's L experts are contiguous, so summing
    # each block of L gives the rows for each rank (Megatron's input_splits).
    rows_per_expert = er.count_per_expert(plan.experts, num_experts)
    send_splits = rows_per_expert.reshape(world, per_rank).sum(axis=1).tolist()
    # Counts first: a receiver cannot size its buffer, nor split what arrives by
    # expert, until every sender has said how much is coming. Equal splits here:
    # every rank sends L numbers to every rank. (Megatron-Core all-gathers the
    # counts instead; either way they arrive before any row moves.)
    counts = torch.empty(num_experts, dtype=torch.int64, device=device)
    dist.all_to_all_single(counts, torch.from_numpy(rows_per_expert).to(device))
    # Row r, column l: rows that rank r sends to this rank's local expert l. On a GPU
    # this copy to the host waits for the exchange (Megatron's CPU sync point).
    counts_in = counts.reshape(world, per_rank).cpu().numpy()
    recv_splits = counts_in.sum(axis=1).tolist()
    # endregion: exchange-counts

    # region: exchange-rows
    send_rows = torch.from_numpy(x_local[plan.tokens]).to(device)
    recv_rows = send_rows.new_empty((sum(recv_splits), d_model))
    # Chunk s of send_rows (send_splits[s] rows) goes to rank s; chunk r of
    # recv_rows is filled from rank r. Nothing compares recv_splits[r] with what r
    # really sends before the rows move: a mismatch shows up later as rows in the
    # wrong places or as a rank that aborts. Agreement is the counts' whole job.
    dist.all_to_all_single(
        recv_rows,
        send_rows,
        output_split_sizes=recv_splits,
        input_split_sizes=send_splits,
    )
    # endregion: exchange-rows

    # region: local-experts
    # Rows arrive source by source, and each source's chunk is expert-major, so the
    # counts alone say which local expert each row is for.
    local_ids = np.tile(np.arange(per_rank), world)
    row_expert = torch.from_numpy(np.repeat(local_ids, counts_in.reshape(-1)))
    row_expert = row_expert.to(device)
    experts = LocalExperts.of_rank(params, rank, per_rank, device)
    expert_out = torch.zeros_like(recv_rows)
    for local in range(per_rank):
        mine = row_expert == local
        expert_out[mine] = experts.apply(local, recv_rows[mine])
    # endregion: local-experts

    # region: combine
    # Every row goes back to the rank it came from, in the order it came: the reverse
    # all-to-all with the split lists SWAPPED. This rank returns recv_splits[r] rows
    # to rank r and gets back the send_splits[s] rows it sent to rank s.
    combine_send_splits, combine_recv_splits = recv_splits, send_splits
    returned = expert_out.new_empty((sum(combine_recv_splits), d_model))
    dist.all_to_all_single(
        returned,
        expert_out,
        output_split_sizes=combine_recv_splits,
        input_split_sizes=combine_send_splits,
    )
    # Rows come home in send order, so the plan still labels them: token and choice.
    gates = routing.kept_gates[plan.tokens, plan.choices]
    weighted = torch.from_numpy(gates).to(device)[:, None] * returned
    tokens = torch.from_numpy(plan.tokens).to(device)
    y = torch.zeros((len(x_local), d_model), dtype=returned.dtype, device=device)
    # index_add_ sums a token's k copies in its own row (Megatron's unpermute uses
    # scatter_add_); a dropped route was never sent, so it adds nothing.
    y.index_add_(0, tokens, weighted)
    # endregion: combine

    return RankResult(
        output=y.cpu().numpy(),
        routing=routing,
        counts_in=counts_in,
        send_splits=send_splits,
        recv_splits=recv_splits,
        combine_send_splits=combine_send_splits,
        combine_recv_splits=combine_recv_splits,
    )


def max_error(result: RankResult, reference: er.MoEResult, shard: slice) -> float:
    """The largest difference between this rank's output and NumPy's for its tokens."""
    return float(np.abs(result.output - reference.output[shard]).max(initial=0.0))


def disagreements(
    result: RankResult, reference: er.MoEResult, rank: int, shard: slice
) -> list[str]:
    """How this rank differs from the NumPy layer for its own tokens; empty if not."""
    ref = reference.routing
    problems = []
    if not np.array_equal(result.routing.experts, ref.experts[shard]):
        problems.append("selected experts differ")
    if not np.array_equal(result.routing.kept, ref.kept[shard]):
        problems.append("capacity drops differ")
    for what, mine, numpy_counts in (
        ("sent", result.send_splits, reference.send_counts[rank].tolist()),
        ("received", result.recv_splits, reference.recv_counts[rank].tolist()),
    ):
        if mine != numpy_counts:
            problems.append(f"{what} {mine} rows, NumPy {what} {numpy_counts}")
    error = max_error(result, reference, shard)
    if not error <= TOLERANCE:  # `not <=` also catches NaN from rows never filled
        problems.append(f"max |torch.distributed - NumPy| = {error:.3g}")
    return problems


def gather_count_matrix(send_splits: list[int], device: torch.device) -> np.ndarray:
    """(R, R) matrix on every rank: row r holds the rows rank r sent to each rank."""
    mine = torch.tensor(send_splits, dtype=torch.int64, device=device)
    rows = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(rows, mine)
    return torch.stack(rows).cpu().numpy()


def trace(
    result: RankResult, reference: er.MoEResult, rank: int, shard: slice
) -> tuple[str, bool]:
    """A few lines on what this rank decided, sent, received and checked; and if OK."""
    r = result.routing
    dropped = r.experts.size - int(r.kept.sum())
    problems = disagreements(result, reference, rank, shard)
    verdict = (
        f"matches NumPy (max difference {max_error(result, reference, shard):.1e})"
        if not problems
        else "DIFFERS from NumPy: " + "; ".join(problems)
    )
    lines = [
        f"tokens {shard.start}..{shard.stop - 1}, capacity C={int(r.capacity[0])}, "
        f"dropped {dropped} of {r.experts.size} routes",
        f"dispatch: sent {result.send_splits} rows to ranks 0..R-1, "
        f"received {result.recv_splits}",
        f"combine:  sent back {result.combine_send_splits}, "
        f"got back {result.combine_recv_splits}",
        f"output {verdict}",
    ]
    return "\n".join(f"[rank {rank}] {line}" for line in lines), not problems


def header(backend: str, world: int, matrix: np.ndarray) -> str:
    """Rank 0's summary: the example, who owns which experts, the count matrix."""
    per_rank = NUM_EXPERTS // world
    owners = ", ".join(
        f"rank {r}: {list(range(r * per_rank, (r + 1) * per_rank))}"
        for r in range(world)
    )
    return (
        f"{backend}, world size {world}: T={NUM_TOKENS} tokens, E={NUM_EXPERTS} "
        f"experts, k={K}, capacity_factor={CAPACITY_FACTOR}\n"
        f"experts owned: {owners}\n"
        "count matrix [r, s] = rows rank r sent to rank s "
        f"(column s: what rank s received):\n{matrix}"
    )


def say(text: str) -> None:
    """Print in one write, so lines of different ranks do not interleave mid-line."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    if "RANK" not in os.environ:  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, ...
        say(
            "start one process per rank with the launcher, for example:\n"
            f"  torchrun --nproc-per-node 2 --standalone {sys.argv[0]}"
        )
        return 2
    backend, device = pick_backend()
    dist.init_process_group(backend)  # rank, world size, address: from torchrun
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        x, params = er.make_example(
            SEED,
            num_tokens=NUM_TOKENS,
            d_model=D_MODEL,
            num_experts=NUM_EXPERTS,
            d_hidden=D_HIDDEN,
        )
        # The same contiguous shards as expert_routing.route uses for world ranks.
        shard = er.shard_slices(er.shard_sizes(len(x), world))[rank]
        result = moe_layer_on_rank(
            x[shard], params, k=K, capacity_factor=CAPACITY_FACTOR, device=device
        )
        reference = er.moe_layer_expert_parallel(
            x, params, k=K, capacity_factor=CAPACITY_FACTOR, world_size=world
        )
        text, ok = trace(result, reference, rank, shard)
        matrix = gather_count_matrix(result.send_splits, device)
        if rank == 0:
            say(header(backend, world, matrix))
        dist.barrier()  # the header first, then each rank's own lines
        say(text)
    finally:
        dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
