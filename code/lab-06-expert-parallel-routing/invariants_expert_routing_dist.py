"""Invariant checks for the distributed Lab 06 starter, expert_routing_dist.py.

The checks run real processes. For world sizes 1, 2 and 4, R processes each join a
gloo process group (rendezvous through a TCP store on 127.0.0.1, on a port the
kernel picks), and each calls the starter's moe_layer_on_rank on its contiguous shard
of the tokens, for a few layers: the starter's own example, uneven shards with tight
capacity, every token preferring one expert, and fewer tokens than ranks. Each rank
saves its output, its routing and every split size it passed to a collective. The test
process then compares them with the NumPy starter, expert_routing.py, and with counts
recomputed in plain Python loops.

All world sizes run at once, once per module, and both invariants read the same runs.
A run is bounded: a rank still alive after RUN_TIMEOUT_S is killed, and the checks
fail with each rank's own error.

These checks need torch (pip install -e '.[dist]'); without it they fail, saying so.
"""

from __future__ import annotations

import multiprocessing
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from multiprocessing.process import BaseProcess as Process
from pathlib import Path

import expert_routing as er
import numpy as np
import pytest

try:
    import expert_routing_dist as starter
    import torch
    import torch.distributed as dist
except ModuleNotFoundError as missing:
    if missing.name != "torch":
        raise
    TORCH_MISSING = (
        f"torch is not importable ({missing}); the distributed checks need it: "
        "pip install -e '.[dist]'"
    )
else:
    TORCH_MISSING = ""

WORLD_SIZES = (1, 2, 4)
RUN_TIMEOUT_S = 40.0
TOLERANCE = 1e-9  # the same bound the starter uses on itself


@dataclass(frozen=True)
class Layer:
    """One seeded MoE layer to run at every world size (E divisible by 4)."""

    name: str
    seed: int
    num_tokens: int
    num_experts: int
    k: int
    capacity_factor: Fraction
    favourite: int | None = None  # when set, every token's first choice
    d_model: int = 4
    d_hidden: int = 8

    def example(self) -> tuple[np.ndarray, er.MoEParams]:
        x, params = er.make_example(
            self.seed,
            num_tokens=self.num_tokens,
            d_model=self.d_model,
            num_experts=self.num_experts,
            d_hidden=self.d_hidden,
        )
        if self.favourite is not None:
            x[:, 0] = 1.0
            params.w_router[0, self.favourite] = 50.0
        return x, params


def layers() -> tuple[Layer, ...]:
    return (
        Layer(
            "starter-example",
            starter.SEED,
            starter.NUM_TOKENS,
            starter.NUM_EXPERTS,
            starter.K,
            starter.CAPACITY_FACTOR,
            d_model=starter.D_MODEL,
            d_hidden=starter.D_HIDDEN,
        ),
        # 13 tokens: shards of 4, 3, 3, 3 at R = 4; capacity half of the demand.
        Layer("uneven-tight", 11, 13, 8, 3, Fraction(1, 2)),
        # One expert gets every first choice: its owner receives from every rank and
        # the other owners receive nothing from anyone (empty chunks).
        Layer("one-favourite", 3, 10, 4, 1, Fraction(2), favourite=3),
        # At R = 4 the last rank holds no tokens at all.
        Layer("fewer-tokens-than-ranks", 5, 3, 4, 2, Fraction(1)),
    )


# --- the runs -------------------------------------------------------------------


def rank_process(
    rank: int, world: int, port_from_parent, folder: Path, todo: tuple[Layer, ...]
) -> None:
    """One rank: join the group, run every layer on its shard, save what it did."""
    try:
        if not port_from_parent.poll(RUN_TIMEOUT_S):
            raise TimeoutError("the parent never sent the store's port")
        store = dist.TCPStore(
            "127.0.0.1",
            port_from_parent.recv(),
            world,
            is_master=False,
            timeout=timedelta(seconds=RUN_TIMEOUT_S),
        )
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world)
        for layer in todo:
            x, params = layer.example()
            shard = er.shard_slices(er.shard_sizes(len(x), world))[rank]
            result = starter.moe_layer_on_rank(
                x[shard],
                params,
                k=layer.k,
                capacity_factor=layer.capacity_factor,
                device=torch.device("cpu"),
            )
            np.savez(
                folder / f"{layer.name}.rank{rank}.npz",
                output=result.output,
                experts=result.routing.experts,
                kept=result.routing.kept,
                counts_in=result.counts_in,
                send_splits=np.array(result.send_splits, dtype=np.int64),
                recv_splits=np.array(result.recv_splits, dtype=np.int64),
                combine_send_splits=np.array(result.combine_send_splits, np.int64),
                combine_recv_splits=np.array(result.combine_recv_splits, np.int64),
            )
        dist.destroy_process_group()
    except BaseException:
        (folder / f"rank{rank}.error").write_text(traceback.format_exc())
        raise SystemExit(1) from None


@dataclass(frozen=True)
class Run:
    """How one world size's processes ended, and where they left their results."""

    world: int
    folder: Path
    exitcodes: tuple[int | None, ...]  # None: killed after RUN_TIMEOUT_S
    todo: tuple[Layer, ...]

    def require_success(self) -> None:
        failures = []
        for rank, code in enumerate(self.exitcodes):
            if code == 0:
                continue
            error = self.folder / f"rank{rank}.error"
            what = error.read_text() if error.exists() else "(no traceback saved)"
            status = "hung and was killed" if code is None else f"exit code {code}"
            failures.append(f"rank {rank} of {self.world}: {status}\n{what}")
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)

    def result(self, layer: Layer, rank: int) -> dict[str, np.ndarray]:
        with np.load(self.folder / f"{layer.name}.rank{rank}.npz") as saved:
            return dict(saved)


def require_loopback() -> None:
    """gloo talks over 127.0.0.1; a fresh network namespace has its loopback down."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        try:
            socket.create_connection(server.getsockname(), timeout=5).close()
        except OSError as exc:
            message = (
                f"cannot connect to 127.0.0.1 ({exc}): the loopback interface is "
                "down; bring it up (`ip link set lo up`, or run under "
                "validators/execution/launch.py --loopback-up)"
            )
        else:
            return
    pytest.fail(message, pytrace=False)


def launch_all(folder: Path) -> dict[int, Run]:
    """Start every rank of every world size, then wait for all of them, bounded."""
    # fork is quick (torch is already imported) and safe here: no thread has been
    # started yet. The TCP stores, which run a server thread, come after the forks.
    method = "fork" if sys.platform == "linux" else "spawn"
    context = multiprocessing.get_context(method)
    todo = layers()
    processes, pipes = {}, {}
    for world in WORLD_SIZES:
        (folder / str(world)).mkdir()
        for rank in range(world):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=rank_process,
                args=(rank, world, receiver, folder / str(world), todo),
                daemon=True,
            )
            process.start()
            processes[world, rank], pipes[world, rank] = process, sender
    stores = {}
    try:
        for world in WORLD_SIZES:
            stores[world] = dist.TCPStore(
                "127.0.0.1",
                0,  # any free port; the ranks learn it through their pipe
                world,
                is_master=True,
                timeout=timedelta(seconds=RUN_TIMEOUT_S),
                wait_for_workers=False,
            )
            for rank in range(world):
                pipes[world, rank].send(stores[world].port)
    finally:
        exitcodes = wait_or_kill(processes)
    return {
        world: Run(
            world,
            folder / str(world),
            tuple(exitcodes[world, rank] for rank in range(world)),
            todo,
        )
        for world in WORLD_SIZES
    }


def wait_or_kill(processes: dict[tuple[int, int], Process]) -> dict:
    """Each process's exit code; None for one still alive at the deadline (killed)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    for process in processes.values():
        process.join(max(0.0, deadline - time.monotonic()))
    codes = {}
    for key, process in processes.items():
        if process.is_alive():
            process.kill()
            process.join()
            codes[key] = None
        else:
            codes[key] = process.exitcode
    return codes


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Run]:
    if TORCH_MISSING:
        pytest.fail(TORCH_MISSING, pytrace=False)
    require_loopback()
    return launch_all(tmp_path_factory.mktemp("expert-routing-dist"))


# --- plain re-computations ----------------------------------------------------------


def plain_counts(routing: er.Routing, world: int) -> np.ndarray:
    """(R, E) kept routes from each source rank to each expert, by Python loops."""
    counts = np.zeros((world, routing.num_experts), dtype=np.int64)
    shards = er.shard_slices(er.shard_sizes(len(routing.experts), world))
    for rank, shard in enumerate(shards):
        for token in range(shard.start, shard.stop):
            for choice, expert in enumerate(routing.experts[token]):
                if routing.kept[token, choice]:
                    counts[rank, int(expert)] += 1
    return counts


# --- the invariants -------------------------------------------------------------


@pytest.mark.invariant("dist-matches-numpy")
@pytest.mark.parametrize("world", WORLD_SIZES)
def test_every_rank_matches_numpy(runs: dict[int, Run], world: int) -> None:
    run = runs[world]
    run.require_success()
    for layer in run.todo:
        x, params = layer.example()
        numpy_layer = er.moe_layer_expert_parallel(
            x,
            params,
            k=layer.k,
            capacity_factor=layer.capacity_factor,
            world_size=world,
        )
        ref = numpy_layer.routing
        shards = er.shard_slices(er.shard_sizes(len(x), world))
        for rank, shard in enumerate(shards):
            got = run.result(layer, rank)
            where = f"layer {layer.name!r}, rank {rank} of {world}"
            assert np.array_equal(got["experts"], ref.experts[shard]), where
            assert np.array_equal(got["kept"], ref.kept[shard]), f"drops, {where}"
            assert got["output"].shape == (shard.stop - shard.start, x.shape[1]), where
            np.testing.assert_allclose(
                got["output"],
                numpy_layer.output[shard],
                rtol=0,
                atol=TOLERANCE,
                err_msg=f"output of {where} differs from expert_routing.py",
            )


@pytest.mark.invariant("dist-count-agreement")
@pytest.mark.parametrize("world", WORLD_SIZES)
def test_count_matrices_agree(runs: dict[int, Run], world: int) -> None:
    run = runs[world]
    run.require_success()
    for layer in run.todo:
        x, params = layer.example()
        routing = er.route(
            x,
            params.w_router,
            k=layer.k,
            capacity_factor=layer.capacity_factor,
            world_size=world,
        )
        per_rank = layer.num_experts // world
        demand = plain_counts(routing, world)  # (R, E): source rank x expert
        expected = demand.reshape(world, world, per_rank).sum(axis=2)
        got = [run.result(layer, rank) for rank in range(world)]
        sent = np.stack([g["send_splits"] for g in got])  # [r, s]: r sends to s
        received = np.stack([g["recv_splits"] for g in got])  # [s, r]: s gets from r
        where = f"layer {layer.name!r}, world size {world}"
        assert np.array_equal(sent, expected), (
            f"{where}: count matrix sent\n{sent}\n!= kept routes per owner\n{expected}"
        )
        assert np.array_equal(received, sent.T), (
            f"{where}: what s receives from r\n{received}\n"
            f"!= what r sends to s (transposed)\n{sent.T}"
        )
        for rank, g in enumerate(got):
            owned = demand[:, rank * per_rank : (rank + 1) * per_rank]
            assert np.array_equal(g["counts_in"], owned), (
                f"{where}, rank {rank}: per-expert counts received\n"
                f"{g['counts_in']}\n!= routes kept for its experts\n{owned}"
            )
            # The combine returns what it received and gets back what it sent.
            assert np.array_equal(g["combine_send_splits"], received[rank]), (
                f"{where}, rank {rank}: combine sends {g['combine_send_splits']}, "
                f"but it received {received[rank]} (splits not swapped?)"
            )
            assert np.array_equal(g["combine_recv_splits"], sent[rank]), (
                f"{where}, rank {rank}: combine expects {g['combine_recv_splits']}, "
                f"but it sent {sent[rank]} (splits not swapped?)"
            )
