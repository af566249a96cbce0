"""Score-based estimators: time per training step, jaxinfo vs the authors' PyTorch MINDE code.

One training step of MINDE-C (mutual information, conditional variant) on ``(dx, dy)`` in
{(1, 1), (5, 5), (25, 25)}, CPU, one thread each side, float32 and float64 (each dtype in
its own subprocess: JAX's x64 flag is process-wide). MINDE's hidden width rule (64 up to 10
features, 128 up to 50, else 256) and batch (128, and 256 for ``dx > 5``, as in their
``src/scripts/run_minde.py``); Adam, learning rate 1e-3, the moving average of the
parameters with decay 0.999 on both sides.

* jaxinfo: the trainer's own compiled chunk (``score_estimation._train_chunk``, what
  ``jaxinfo.nn.minde_mutual_information`` runs): per step a row draw from 5000 training
  rows, time and noise (``score_objectives.draw``), one mask per row, ``denoising_loss``
  with the fitted Gaussian's noise prediction added (``gaussian_baseline=True``, the
  default; MINDE has no such baseline), the Adam update and the moving average, on
  ``ScoreNetwork((dx, dy), width=w)``. Timed (a) as one jitted ``lax.scan`` of ``--steps``
  steps (500) divided by the step count, (b) the same without the baseline (MINDE's
  computation) and (c) as one jitted single-step chunk per Python call, blocked on every
  call (dispatch included), ``--loop-steps`` (40) calls per timing.
* PyTorch: the authors' ``UnetMLP_simple(dim=d, init_dim=w, dim_mults=[], time_dim=w,
  nb_var=2)`` and ``VP_SDE(importance_sampling=True, var_sizes=[dx, dy], type="c")`` on
  the CPU. A step is the body of their ``MINDE.training_step`` plus what Lightning runs
  around it: a batch of rows drawn from the same 5000 rows (no DataLoader), ``loss =
  sde.train_step(batch, score_forward).mean()``, their ``EMA.update`` (their
  ``on_before_backward`` with ``--use_ema``), ``loss.backward()``, ``optimizer.step()``,
  ``optimizer.zero_grad()``. ``score_forward`` is written here: it repeats
  ``MINDE.score_forward``'s handling of times and masks (``minde.py`` itself imports
  pytorch_lightning). ``--loop-steps`` steps per timing, divided by the step count.

Interleaving: every round times each variant once in turn (``timing.round_wall_and_cpu_
times``), 7 rounds; the tables give the medians and the round-by-round ratio's median.

The reference code is not part of this repository. It is unpacked at run time from a
checkout: ``--minde-repo PATH`` (a directory holding ``src/``), by default from the bare
mirror, as with

    git -C /work/.mirror/MustaphaBounoua+minde/repo archive HEAD src | tar -x -C DIR

(``--minde-git`` names another git directory). Two adaptations, neither changing the
timed work: ``VP_SDE.__init__`` builds its masks on ``"cuda"`` before ``set_device`` can
run, which a CPU-only torch refuses, so a subclass builds them on the CPU; and float64
cannot run as written. ``UnetMLP_simple.forward`` casts its input with ``x.float()``, so a
float64 network raises (``mat1 and mat2 must have the same dtype``); under
``torch.set_default_dtype(torch.float64)`` a float32 network fails as well, since
``score_forward``'s ``0.0 * clean`` makes the times float64; and their time sampler returns
float32 times whatever the default dtype. For float64 the network is therefore run by a
forward written here that calls their modules in their order (``init_lin``, ``time_mlp``,
concatenation with the skip, ``final_res_block``, ``final_lin``; with ``dim_mults=[]`` the
down/up loops are empty) without the casts; it is checked equal to their forward in
float32. The float64 table also times what their code as written runs on float64 data
(``torch_as_written``): the default dtype left at float32, a float32 network, the loss in float64.

Run:  OMP_NUM_THREADS=1 python benchmarks/score_step_time.py [--minde-repo DIR]
Needs torch (CPU). Threads are pinned to 1 for XLA, BLAS and torch (intra- and inter-op).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools (torch too) if unpinned

MINDE_GIT = "/work/.mirror/MustaphaBounoua+minde/repo"
CASES = ((1, 1), (5, 5), (25, 25))
TRAIN_ROWS = 5000
LEARNING_RATE = 1e-3
DECAY = 0.999


def _batch_size(dx: int) -> int:
    """MINDE's run_minde.py: batch 128 up to 5 features per variable, else 256."""
    return 128 if dx <= 5 else 256


def _commit(repo: str) -> str:
    """The reference's commit (blank when ``repo`` is no git checkout)."""
    out = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def materialise(git_dir: str, into: str) -> str:
    """Unpacks ``src/`` of the reference's HEAD into ``into`` (never into this repository)."""
    archive = subprocess.run(
        ["git", "-C", git_dir, "archive", "HEAD", "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return into


def _torch():
    import torch

    torch.set_num_threads(THREADS)
    if torch.get_num_interop_threads() != THREADS:
        torch.set_num_interop_threads(THREADS)
    return torch


def _reference(repo: str):
    """The reference's network, SDE and EMA classes, imported from the checkout ``repo``."""
    sys.path.insert(0, repo)
    from src.libs.SDE import VP_SDE  # pyright: ignore[reportMissingImports]
    from src.libs.util import EMA  # pyright: ignore[reportMissingImports]
    from src.models.mlp import UnetMLP_simple  # pyright: ignore[reportMissingImports]

    class CpuSDE(VP_SDE):
        """Builds the training masks on the CPU (their ``__init__`` uses ``"cuda"``)."""

        def get_masks_training(self):
            self.device = "cpu"
            return super().get_masks_training()

    return UnetMLP_simple, CpuSDE, EMA


def _forward_without_casts(model, x, t):
    """``UnetMLP_simple.forward`` for ``dim_mults=[]`` without its float32 casts."""
    torch = _torch()
    t = t.reshape(t.size(0), model.nb_var).to(x.dtype)
    h = model.init_lin(x)
    t = model.time_mlp(t).squeeze()
    h = model.final_res_block(torch.cat((h, h.clone()), dim=1), t)
    return model.final_lin(h)


def _score_forward(forward):
    """``MINDE.score_forward``'s times: ``t`` where diffused, 0 where clean, 1 where marginal."""

    def score_forward(x, t, mask, std=None):
        t = t.expand(t.shape[0], mask.size(-1))
        marginal = (-mask).clip(0, 1)
        clean = 1 - mask.clip(0, 1) - marginal
        t = t * (1 - clean) + 0.0 * clean
        t = t * (1 - marginal) + 1 * marginal
        return forward(x, t)

    return score_forward


def _parameter_count(tree) -> int:
    import jax

    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def torch_side(repo: str, sizes, data: np.ndarray, batch: int, dtype: str, steps: int):
    """Calls of ``steps`` reference steps, by name, and the reference's parameter counts."""
    torch = _torch()
    network_class, sde_class, ema_class = _reference(repo)
    dx, dy = sizes
    width = _width(dx + dy)
    torch.manual_seed(0)
    train = torch.from_numpy(data)
    calls, counts = {}, {}
    variants = {"torch": dtype} if dtype == "float32" else {"torch": dtype, "torch_as_written": ""}
    for name, variant in variants.items():
        model = network_class(dim=dx + dy, init_dim=width, dim_mults=[], time_dim=width, nb_var=2)
        if variant == "float64":
            model = model.double()
            forward = lambda x, t, model=model: _forward_without_casts(model, x, t)  # noqa: E731
        else:
            model = model.float()
            forward = lambda x, t, model=model: model(x, t=t)  # noqa: E731
        sde = sde_class(importance_sampling=True, var_sizes=[dx, dy], type="c")
        sde.set_device("cpu")
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        ema = ema_class(model, decay=DECAY)
        score_forward = _score_forward(forward)

        def run(model=model, sde=sde, optimizer=optimizer, ema=ema, score_forward=score_forward):
            model.train()
            default = torch.get_default_dtype()
            if model.init_lin.weight.dtype == torch.float32:  # else `0.0 * clean` is float64
                torch.set_default_dtype(torch.float32)
            loss = torch.zeros(())
            for _ in range(steps):
                rows = train[torch.randint(TRAIN_ROWS, (batch,))]
                loss = sde.train_step({"x": rows[:, :dx], "y": rows[:, dx:]}, score_forward)
                loss = loss.mean()
                ema.update(model)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            torch.set_default_dtype(default)
            return float(loss.detach())

        calls[name] = run
        if name != "torch":
            continue
        counts["params_torch"] = sum(p.numel() for p in model.parameters())
        counts["params_torch_used"] = counts["params_torch"] - sum(
            p.numel() for p in model.mid_block1.parameters()
        )
        counts["torch_version"] = torch.__version__
        counts["torch_dtype"] = str(next(model.parameters()).dtype).removeprefix("torch.")
    # Their forward and the cast-free one agree where the casts change nothing (float32).
    model = network_class(dim=dx + dy, init_dim=width, dim_mults=[], time_dim=width, nb_var=2)
    model = model.float()
    torch.nn.init.normal_(model.proj.weight)  # their output layer starts at zero
    x = torch.randn(batch, dx + dy, dtype=torch.float32)
    t = torch.rand(batch, 2, dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(x, t=t), _forward_without_casts(model, x, t))
    return calls, counts


def _width(features: int) -> int:
    from jaxinfo._src.score_networks import default_width

    return default_width(features)


def jax_side(sizes, data: np.ndarray, batch: int, steps: int, loop_steps: int):
    """jaxinfo's trainer chunk as a ``steps``-step scan and as ``loop_steps`` one-step calls.

    With the Gaussian baseline (the trainer's default, which MINDE lacks) and, as a
    ``steps``-step scan, without it: MINDE's computation alone.
    """
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from jaxinfo._src import gaussian_scores, score_estimation, score_objectives
    from jaxinfo.nn import ScoreNetwork

    train = jnp.asarray(data)
    network = ScoreNetwork(
        sizes, width=_width(sum(sizes)), param_dtype=train.dtype, rngs=nnx.Rngs(0)
    )
    options = score_estimation._check_options(
        batch_size=batch,
        max_steps=steps,
        evaluate_every=steps,
        patience=4,
        mc_samples=10,
        held_out=0.3,
        weight_averaging=DECAY,
        learning_rate=LEARNING_RATE,
        optimizer=None,
        gaussian_baseline=True,
        seed=0,
        progress=False,
        mesh=None,
        base=None,
    )
    masks, _ = score_objectives.training_masks("conditional", len(sizes))
    baseline = gaussian_scores.fit(data, masks, sizes, train.dtype)  # as _train fits it
    graph, params, rest = nnx.split(network, nnx.Param, ...)
    programs = {
        "jax_scan": (options, baseline),
        "jax_scan_no_baseline": (options, None),
        "jax_step": (options._replace(evaluate_every=1), baseline),
    }
    chunks = {
        name: score_estimation._train_chunk(train, sizes, "conditional", graph, rest, *args)
        for name, args in programs.items()
    }
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam, as in the trainer
        opt_state = options.optimizer.init(params)
    state = dict.fromkeys(programs, (params, params, opt_state))
    keys = list(jax.random.split(jax.random.key(1), loop_steps))

    def scan(name):
        def call():
            with jax.numpy_dtype_promotion("standard"):
                *carry, loss = chunks[name](*state[name], keys[0])
            state[name] = tuple(carry)
            return float(loss)

        return call

    def step():
        losses = []
        with jax.numpy_dtype_promotion("standard"):
            for key in keys:
                *carry, loss = jax.block_until_ready(chunks["jax_step"](*state["jax_step"], key))
                state["jax_step"] = tuple(carry)
                losses.append(loss)
        return float(losses[-1])

    calls = {"jax_scan": scan("jax_scan"), "jax_scan_no_baseline": scan("jax_scan_no_baseline")}
    return {**calls, "jax_step": step}, {"params_jax": _parameter_count(params)}


def child(dtype: str, repo: str, steps: int, loop_steps: int, rounds: int) -> list[dict]:
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
        _torch().set_default_dtype(_torch().float64)
    rows = []
    for sizes in CASES:
        dx, dy = sizes
        batch = _batch_size(dx)
        data = np.random.default_rng(0).normal(size=(TRAIN_ROWS, dx + dy)).astype(dtype)
        jax_calls, jax_counts = jax_side(sizes, data, batch, steps, loop_steps)
        torch_calls, torch_counts = torch_side(repo, sizes, data, batch, dtype, loop_steps)
        calls = {**jax_calls, **torch_calls}
        per_call = {name: steps if "scan" in name else loop_steps for name in calls}
        wall, cpu = timing.round_wall_and_cpu_times(calls, repeats=rounds)
        wall = {name: [1e3 * w / per_call[name] for w in times] for name, times in wall.items()}
        cpu = {name: [1e3 * c / per_call[name] for c in times] for name, times in cpu.items()}
        row: dict = {
            "case": f"({dx}, {dy})",
            "dtype": dtype,
            "width": _width(dx + dy),
            "batch": batch,
            "scan_steps": steps,
            "loop_steps": loop_steps,
            "rounds": rounds,
            **jax_counts,
            **torch_counts,
        }
        for name in calls:
            row[f"{name}_ms"] = statistics.median(wall[name])  # per step
            row[f"{name}_cpu_ms"] = statistics.median(cpu[name])
            row[f"{name}_spread"] = timing.spread(wall[name])["spread"]
        for name in torch_calls:
            for side in jax_calls:
                suffix = name.removeprefix("torch") + "_" + side.removeprefix("jax_")
                ratios = timing.paired_ratios(wall[name], wall[side])
                cpu_ratios = timing.paired_ratios(cpu[name], cpu[side])
                row[f"ratio{suffix}"] = statistics.median(ratios)
                row[f"cpu_ratio{suffix}"] = statistics.median(cpu_ratios)
        row["load_average_1min"] = os.getloadavg()[0]  # the machine is shared
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Score-based estimators: time per training step vs MINDE's PyTorch code."
    )
    parser.add_argument("--minde-repo", help="a checkout of MINDE holding src/ (default: unpack)")
    parser.add_argument("--minde-git", default=MINDE_GIT, help="git directory to unpack from")
    parser.add_argument("--steps", type=int, default=500, help="steps per timed jaxinfo scan")
    parser.add_argument(
        "--loop-steps", type=int, default=40, help="steps per timed loop of Python-level steps"
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        rows = child(args.child, args.minde_repo, args.steps, args.loop_steps, args.rounds)
        print(json.dumps(rows))
        return
    with tempfile.TemporaryDirectory(prefix="minde-") as unpacked:
        repo = args.minde_repo or materialise(args.minde_git, unpacked)
        repo = str(pathlib.Path(repo).resolve())
        commit = _commit(args.minde_git if args.minde_repo is None else repo)
        common = ["--minde-repo", repo, "--steps", str(args.steps)]
        common += ["--loop-steps", str(args.loop_steps), "--rounds", str(args.rounds)]
        rows = []
        for dtype in ("float32", "float64"):
            rows += results.run_child(__file__, "--child", dtype, *common)
    rows = [{**row, "minde_commit": commit} for row in rows]
    path = results.write_results("score_step_time", rows)
    flags = results.environment()["xla_flags"]
    print(f"threads: torch {THREADS} (intra- and inter-op), XLA_FLAGS={flags}")
    results.print_table(
        rows,
        [
            "case",
            "dtype",
            "width",
            "batch",
            "params_jax",
            "params_torch",
            "params_torch_used",
            "torch_dtype",
            "jax_scan_ms",
            "jax_scan_no_baseline_ms",
            "jax_step_ms",
            "torch_ms",
            "torch_as_written_ms",
            "ratio_scan",
            "ratio_scan_no_baseline",
            "ratio_step",
            "cpu_ratio_scan",
            "ratio_as_written_scan",
            "load_average_1min",
        ],
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
