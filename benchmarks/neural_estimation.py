"""Variational MI estimation: time per training step, jaxinfo vs torch-mist, and the estimates.

1. Time of one optimiser step (critic scores on a batch of 256 pairs, loss, backward, Adam
   update) on ``x, y`` of 5 features each, CPU, one thread on both sides, float32 and float64
   (each dtype in its own subprocess: JAX's x64 flag is process-wide):

   * SMILE: joint critic ``MLP([x, y])`` with hidden ``[16, 8]`` (ReLU), trained with the
     Jensen–Shannon objective (torch-mist's ``SMILE.batch_loss`` is ``JS.batch_loss``;
     jaxinfo's ``estimate_mutual_information(method="smile")`` trains with
     :func:`jaxinfo.jensen_shannon_objective`), the other 255 rows of the batch as the
     negatives (torch-mist ``neg_samples=-1``; jaxinfo's ``n(n - 1)`` off-diagonal pairs).
   * InfoNCE: separable critic ``g(x) . h(y)``, two MLPs 5 -> 128 -> 32 (torch-mist
     ``hidden_dims=[128, 32]``, asymmetric heads, ``neg_samples=0``; jaxinfo
     ``SeparableCritic(hidden=(128,), embedding=32)``).
   * NWJ: the joint critic of SMILE, NWJ objective, 255 negatives (full run only).
   * The default step of ``estimate_mutual_information`` (SMILE case, jaxinfo side only):
     the same joint MLP inside a ``GaussianBaselineCritic`` fitted on 3500 rows, the JS
     objective and the moving average of the parameters (decay 0.99), against the same
     torch-mist SMILE step (what a torch-mist user runs).

   jaxinfo is timed two ways: (a) one jitted step per Python call (dispatch included; the
   loop blocks once per block of steps, as a training loop would), (b) the steps inside one
   jitted ``lax.scan`` (250 steps, 25 with ``--quick``), the way
   ``jaxinfo.nn.estimate_mutual_information`` runs them, divided by the step count.
   torch-mist is timed with its own training-loop body (``utils/train/model.py``:
   ``loss = estimator.loss(x, y); opt.zero_grad(); loss.backward(); opt.step()``) and its
   own optimiser factory (``instantiate_optimizer``: Adam, lr 5e-4, one parameter group per
   tensor). A hand-written plain-PyTorch step of the same computation as jaxinfo (first
   layer per row and broadcast, one ``[n, n]`` score matrix, a single Adam parameter group)
   is timed as well, to separate the library overheads from the framework.

   All sides start from the same weights (torch-mist's initialisation copied into the
   others) and see the same batches (a pool of 250 distinct batches cycled: torch-mist
   caches its forward on the argument values, so a repeated batch would reuse a freed
   graph); the gradients on the first batch are compared. Blocks of the four variants are
   interleaved per round; the table reports the median over rounds of the per-step time.

2. Whole estimates on one task: ``jaxinfo.testing.correlated_gaussians(5, 5,
   correlation=sqrt(1 - e^-1), interaction="sparse")`` (true MI 1 nat), n = 5000, the same
   samples, split (jaxinfo's held-out half) and standardisation (training statistics) for
   both, SMILE (tau 5) with the joint [16, 8] critic and all-but-one negatives, batch 256,
   Adam lr 5e-4, a fixed number of steps (no early stopping), read out on the held-out half
   in chunks of 256. torch-mist (``estimate_mi`` with its ``smile`` estimator built after
   ``torch.manual_seed(seed)``; ``fast_train``, no logger, no validation) reports the
   held-out value of the final weights. jaxinfo runs twice: with its own critic
   initialisation (Flax's) and from torch-mist's initial weights (copied), each reporting
   its best held-out evaluation (every 250 steps; its estimate) and the last one. Wall time
   of each whole estimate (jaxinfo's includes compilation).

Run:  OMP_NUM_THREADS=1 python benchmarks/neural_estimation.py [--quick]
Needs torch-mist 0.2.17, which pins numpy<2 but imports and runs with numpy 2 (see
benchmarks/README.md for the install line). Threads are pinned to 1 for XLA, BLAS and torch
(intra- and inter-op).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import statistics
import subprocess
import sys
import time

import jax
import numpy as np

from jaxinfo._src.bench import results, timing

THREADS = timing.pin_threads()  # re-executes with one-thread pools (torch too) if unpinned

NEEDS_TORCH_MIST = (
    "benchmarks/neural_estimation.py needs torch and torch-mist 0.2.17 (it pins numpy<2, so pip "
    "cannot resolve it next to jaxinfo): "
    ".venv/bin/pip install -e '.[benchmarks]' && .venv/bin/pip install --no-deps torch-mist==0.2.17"
)

BATCH = 256
FEATURES = 5
LEARNING_RATE = 5e-4
TAU = 5.0
POOL = 250  # distinct batches (the scan length of the full run)

CASES = {
    "smile": {"label": "SMILE (JS training), joint [16, 8]", "critic": "joint"},
    "infonce": {"label": "InfoNCE, separable 128 -> 32", "critic": "separable"},
    "nwj": {"label": "NWJ, joint [16, 8]", "critic": "joint"},
}


def _torch():
    import torch

    torch.set_num_threads(THREADS)
    if torch.get_num_interop_threads() != THREADS:
        torch.set_num_interop_threads(THREADS)
    return torch


def _require_torch_mist() -> None:
    try:
        import torch  # noqa: F401
        import torch_mist  # noqa: F401
    except ImportError as error:
        print(f"{NEEDS_TORCH_MIST}\n(import failed: {error})", file=sys.stderr)
        sys.exit(2)


# --------------------------------------------------------------------------- torch-mist side
def torch_mist_estimator(case: str):
    from torch_mist.estimators.discriminative import factories

    if case == "smile":
        return factories.smile(
            x_dim=FEATURES, y_dim=FEATURES, hidden_dims=[16, 8], neg_samples=-1, tau=TAU
        )
    if case == "nwj":
        return factories.nwj(x_dim=FEATURES, y_dim=FEATURES, hidden_dims=[16, 8], neg_samples=-1)
    return factories.infonce(x_dim=FEATURES, y_dim=FEATURES, hidden_dims=[128, 32], neg_samples=0)


def canonical_layers(estimator, kind: str, grad: bool = False) -> list[tuple]:
    """torch-mist weights (or gradients) as ``(name, W[out, in], b or None)`` NumPy arrays.

    The joint critic's first ``Linear(10, 16)`` is split into its ``x`` and ``y`` columns (the
    layout of jaxinfo's ``ConcatCritic``: ``first_x`` with the bias, ``first_y`` without)."""

    def arr(t):
        t = t.grad if grad else t
        return t.detach().cpu().numpy().copy()

    if kind == "joint":
        layers = estimator.critic.joint_net.layers
        w0, b0 = arr(layers[0].weight), arr(layers[0].bias)
        return [
            ("x0", w0[:, :FEATURES], b0),
            ("y0", w0[:, FEATURES:], None),
            ("h1", arr(layers[1].weight), arr(layers[1].bias)),
            ("out", arr(layers[2].weight), arr(layers[2].bias)),
        ]
    out = []
    for side, net in (("g", estimator.critic.f_x), ("h", estimator.critic.f_y)):
        for i, layer in enumerate(net.layers):
            out.append((f"{side}{i}", arr(layer.weight), arr(layer.bias)))
    return out


# --------------------------------------------------------------------------- plain PyTorch
def plain_torch_critic(torch, kind: str, layers: list[tuple]):
    """The jaxinfo computation in eager PyTorch, initialised from ``layers``."""
    nn = torch.nn

    def linear(w, b):
        module = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(w))
            if b is not None:
                module.bias.copy_(torch.from_numpy(b))
        return module

    named = {name: (w, b) for name, w, b in layers}

    class Joint(nn.Module):
        def __init__(self):
            super().__init__()
            self.first_x = linear(*named["x0"])
            self.first_y = linear(*named["y0"])
            self.rest = nn.Sequential(
                nn.ReLU(), linear(*named["h1"]), nn.ReLU(), linear(*named["out"])
            )

        def forward(self, x, y):
            pairs = self.first_x(x)[:, None, :] + self.first_y(y)[None, :, :]
            return self.rest(pairs)[..., 0]

    class Separable(nn.Module):
        def __init__(self):
            super().__init__()
            self.g = nn.Sequential(linear(*named["g0"]), nn.ReLU(), linear(*named["g1"]))
            self.h = nn.Sequential(linear(*named["h0"]), nn.ReLU(), linear(*named["h1"]))

        def forward(self, x, y):
            return self.g(x) @ self.h(y).T

    return Joint() if kind == "joint" else Separable()


def plain_torch_loss(torch, case: str):
    functional = torch.nn.functional

    def loss(scores):
        n = scores.shape[0]
        diagonal = scores.diagonal()
        if case == "infonce":
            return -(math.log(n) + (diagonal - torch.logsumexp(scores, dim=1)).mean())
        if case == "smile":  # the Jensen–Shannon objective
            softplus = functional.softplus(scores)
            negatives = (softplus.sum() - softplus.diagonal().sum()) / (n * (n - 1))
            return functional.softplus(-diagonal).mean() + negatives
        eye = torch.eye(n, dtype=torch.bool)
        log_mean_exp = torch.logsumexp(scores.masked_fill(eye, -math.inf).reshape(-1), 0)
        return -(diagonal.mean() - torch.exp(log_mean_exp - math.log(n * (n - 1)) - 1.0))

    return loss


# --------------------------------------------------------------------------- jaxinfo side
def jaxinfo_critic(kind: str, layers: list[tuple], dtype):
    """A jaxinfo critic holding ``layers`` (torch layout, transposed into Flax kernels)."""
    import jax.numpy as jnp
    from flax import nnx

    from jaxinfo.nn import ConcatCritic, SeparableCritic

    named = {name: (w, b) for name, w, b in layers}

    def load(linear, name):
        w, b = named[name]
        linear.kernel = nnx.Param(jnp.asarray(w.T, dtype))
        if b is not None:
            linear.bias = nnx.Param(jnp.asarray(b, dtype))

    if kind == "joint":
        critic = ConcatCritic(FEATURES, FEATURES, hidden=(16, 8), rngs=nnx.Rngs(0))
        load(critic.first_x, "x0")
        load(critic.first_y, "y0")
        load(critic.rest.layers[0], "h1")
        load(critic.rest.head, "out")
    else:
        critic = SeparableCritic(FEATURES, FEATURES, hidden=(128,), embedding=32, rngs=nnx.Rngs(0))
        for side, embed in (("g", critic.embed_x), ("h", critic.embed_y)):
            load(embed.layers[0], f"{side}0")
            load(embed.head, f"{side}1")
    return critic


def jaxinfo_objective(case: str):
    import jaxinfo

    return {
        "smile": jaxinfo.jensen_shannon_objective,  # the JS objective torch-mist trains on
        # what estimate_mutual_information(method="smile") trains on: the SMILE value carrying
        # the JS gradient (the same gradient, plus the clipped log-mean-exp in the forward)
        "smile_readout": lambda scores: jaxinfo.smile_estimate(scores, clip=TAU),
        "infonce": jaxinfo.infonce_lower_bound,
        "nwj": jaxinfo.nwj_lower_bound,
    }[case]


def jaxinfo_steps(critic, case: str, ema: float | None = None):
    """``(params, opt_state, step, scan, grad)``: one jitted step, a jitted scan of steps.

    With ``ema`` the optimiser state is ``(adam_state, averaged)`` and every step also
    updates the moving average of the parameters (``estimate_mutual_information``'s)."""
    import optax
    from flax import nnx

    graph, params, rest = nnx.split(critic, nnx.Param, ...)
    optimizer = optax.adam(LEARNING_RATE)
    objective = jaxinfo_objective(case)

    def loss(p, xb, yb):
        return -objective(nnx.merge(graph, p, rest)(xb, yb))

    def step(p, opt_state, xb, yb):
        value, grads = jax.value_and_grad(loss)(p, xb, yb)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, value

    def ema_step(p, state, xb, yb):
        p, opt_state, value = adam_step(p, state[0], xb, yb)
        averaged = jax.tree.map(lambda a, b: ema * a + (1.0 - ema) * b, state[1], p)
        return p, (opt_state, averaged), value

    adam_step, step = step, (step if ema is None else ema_step)
    state = optimizer.init(params) if ema is None else (optimizer.init(params), params)

    def scan(p, opt_state, xs, ys):
        def body(carry, batch):
            p, opt_state, value = step(*carry, *batch)
            return (p, opt_state), value

        (p, opt_state), values = jax.lax.scan(body, (p, opt_state), (xs, ys))
        return p, opt_state, values.mean()

    return params, state, jax.jit(step), jax.jit(scan), jax.jit(jax.grad(loss))


# --------------------------------------------------------------------------- 1. step timing
def step_child(dtype_name: str, quick: bool) -> list[dict]:
    if dtype_name == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from flax import nnx
    from torch_mist.utils.train.model import instantiate_optimizer

    import jaxinfo
    from jaxinfo.nn import GaussianBaselineCritic

    torch = _torch()
    torch.manual_seed(0)
    np_dtype = np.dtype(dtype_name)
    torch_dtype = torch.float64 if dtype_name == "float64" else torch.float32
    rounds = 2 if quick else 7
    block = 5 if quick else 30  # steps per timed block of the per-call loops
    scan_steps = 25 if quick else 250
    cases = ["smile", "infonce"] if quick else ["smile", "infonce", "nwj"]

    task = jaxinfo.testing.correlated_gaussians(
        FEATURES, FEATURES, correlation=math.sqrt(1 - math.exp(-1)), interaction="sparse"
    )
    x, y = task.sample(jax.random.key(0), POOL * BATCH)
    x = np.array(x, np_dtype).reshape(POOL, BATCH, FEATURES)  # writable copies for torch
    y = np.array(y, np_dtype).reshape(POOL, BATCH, FEATURES)
    j_xs, j_ys = jnp.asarray(x), jnp.asarray(y)
    j_list = [(j_xs[i], j_ys[i]) for i in range(POOL)]
    j_scan = (j_xs[:scan_steps], j_ys[:scan_steps])
    t_list = [(torch.from_numpy(x[i]), torch.from_numpy(y[i])) for i in range(POOL)]

    runners, rows = {}, {}
    for case in cases:
        kind = CASES[case]["critic"]
        estimator = torch_mist_estimator(case).to(torch_dtype)
        layers = canonical_layers(estimator, kind)
        t_opt, _ = instantiate_optimizer(
            estimator, max_iterations=10**6, optimizer_params={"lr": LEARNING_RATE}
        )
        plain = plain_torch_critic(torch, kind, layers).to(torch_dtype)
        plain_loss = plain_torch_loss(torch, case)
        p_opt = torch.optim.Adam(plain.parameters(), lr=LEARNING_RATE)
        critic = jaxinfo_critic(kind, layers, np_dtype)
        params, opt_state, j_step, j_scan_fn, j_grad = jaxinfo_steps(critic, case)
        row = {
            "case": CASES[case]["label"],
            "dtype": dtype_name,
            "params_jaxinfo": sum(a.size for a in jax.tree.leaves(params)),
            "params_torch_mist": sum(p.numel() for p in estimator.parameters()),
            "params_plain": sum(p.numel() for p in plain.parameters()),
            "param_dtype_jaxinfo": str(jax.tree.leaves(params)[0].dtype),
            "torch": torch.__version__,
            "torch_mist": importlib.metadata.version("torch-mist"),
        }

        # Gradients on the first batch from the shared initial weights.
        (xb, yb), (txb, tyb) = j_list[0], t_list[0]
        j_grads = j_grad(params, xb, yb)
        estimator.zero_grad()
        estimator.loss(txb, tyb).backward()
        from_mist = jaxinfo_critic(kind, canonical_layers(estimator, kind, grad=True), np_dtype)
        mist_grads = nnx.split(from_mist, nnx.Param, ...)[1]
        estimator.zero_grad()
        plain.zero_grad()
        plain_loss(plain(txb, tyb)).backward()
        p_layers = []
        for name, module in plain_named_linears(plain, kind):
            bias = None if module.bias is None else module.bias.grad.numpy()
            p_layers.append((name, module.weight.grad.numpy(), bias))
        plain_grads = nnx.split(jaxinfo_critic(kind, p_layers, np_dtype), nnx.Param, ...)[1]
        plain.zero_grad()
        row["grad_diff_torch_mist"] = _max_diff(j_grads, mist_grads)
        row["grad_diff_plain"] = _max_diff(j_grads, plain_grads)
        row["grad_scale"] = max(float(np.max(np.abs(g))) for g in jax.tree.leaves(j_grads))

        # torch-mist caches its forward on the argument values: start past the gradient batch
        state = {"p": params, "s": opt_state, "i": 0, "t": 1, "q": 0}

        def run_call(n, state=state, j_step=j_step):
            p, s, value = state["p"], state["s"], None
            for _ in range(n):
                p, s, value = j_step(p, s, *j_list[state["i"] % POOL])
                state["i"] += 1
            jax.block_until_ready(value)
            state["p"], state["s"] = p, s

        def run_scan(state=state, j_scan_fn=j_scan_fn):
            p, s, value = j_scan_fn(state["p"], state["s"], *j_scan)
            jax.block_until_ready(value)
            state["p"], state["s"] = p, s

        def run_mist(n, state=state, estimator=estimator, t_opt=t_opt):
            for _ in range(n):
                loss = estimator.loss(*t_list[state["t"] % POOL])
                t_opt.zero_grad()
                loss.backward()
                t_opt.step()
                state["t"] += 1

        def run_plain(n, state=state, plain=plain, plain_loss=plain_loss, p_opt=p_opt):
            for _ in range(n):
                loss = plain_loss(plain(*t_list[state["q"] % POOL]))
                p_opt.zero_grad()
                loss.backward()
                p_opt.step()
                state["q"] += 1

        start = time.perf_counter()
        run_call(1)
        row["jaxinfo_compile_step_s"] = time.perf_counter() - start
        start = time.perf_counter()
        run_scan()
        row["jaxinfo_compile_scan_s"] = time.perf_counter() - start
        run_mist(3)
        run_plain(3)
        runners[case] = {
            "jaxinfo_call_ms": (lambda f=run_call: f(block), block),
            "jaxinfo_scan_ms": (run_scan, scan_steps),
            "torch_mist_ms": (lambda f=run_mist: f(block), block),
            "torch_plain_ms": (lambda f=run_plain: f(block), block),
        }
        if case == "smile":  # also the objective estimate_mutual_information trains on
            s_params, s_opt, _, s_scan_fn, _ = jaxinfo_steps(
                jaxinfo_critic(kind, layers, np_dtype), "smile_readout"
            )
            s_state = {"p": s_params, "s": s_opt}

            def run_scan_readout(state=s_state, fn=s_scan_fn):
                p, s, value = fn(state["p"], state["s"], *j_scan)
                jax.block_until_ready(value)
                state["p"], state["s"] = p, s

            run_scan_readout()  # compile
            runners[case]["jaxinfo_scan_smile_ms"] = (run_scan_readout, scan_steps)
            # the new default step: Gaussian baseline around the same MLP, JS, EMA 0.99
            fit = x.reshape(-1, FEATURES)[:3500], y.reshape(-1, FEATURES)[:3500]
            default = GaussianBaselineCritic(jaxinfo_critic(kind, layers, np_dtype), *fit)
            d_params, d_opt, d_step, d_scan_fn, _ = jaxinfo_steps(default, "smile", ema=0.99)
            d_state = {"p": d_params, "s": d_opt, "i": 1}
            run_call(1, d_state, d_step)  # compile both
            run_scan(d_state, d_scan_fn)
            runners[case]["jaxinfo_call_default_ms"] = (
                lambda f=run_call, s=d_state, g=d_step: f(block, s, g),
                block,
            )
            runners[case]["jaxinfo_scan_default_ms"] = (
                lambda f=run_scan, s=d_state, g=d_scan_fn: f(s, g),
                scan_steps,
            )
        rows[case] = row

    times = {case: {key: [] for key in runners[case]} for case in cases}
    for r in range(rounds):
        for case in cases:
            order = list(runners[case].items())
            if r % 2:
                order.reverse()  # alternate who goes first
            for key, (fn, steps) in order:
                start = time.perf_counter()
                fn()
                times[case][key].append(1e3 * (time.perf_counter() - start) / steps)

    out = []
    for case in cases:
        row = rows[case]
        for key, values in times[case].items():
            row[key] = statistics.median(values)
            row[key.replace("_ms", "_spread")] = (max(values) - min(values)) / row[key]
        row["ratio_call"] = row["torch_mist_ms"] / row["jaxinfo_call_ms"]
        row["ratio_scan"] = row["torch_mist_ms"] / row["jaxinfo_scan_ms"]
        row["ratio_plain_scan"] = row["torch_plain_ms"] / row["jaxinfo_scan_ms"]
        if "jaxinfo_scan_smile_ms" in row:
            row["ratio_scan_smile"] = row["torch_mist_ms"] / row["jaxinfo_scan_smile_ms"]
            row["ratio_call_default"] = row["torch_mist_ms"] / row["jaxinfo_call_default_ms"]
            row["ratio_scan_default"] = row["torch_mist_ms"] / row["jaxinfo_scan_default_ms"]
        row["rounds"], row["block_steps"], row["scan_steps"] = rounds, block, scan_steps
        out.append(row)
    return out


def plain_named_linears(plain, kind: str):
    if kind == "joint":
        return [
            ("x0", plain.first_x),
            ("y0", plain.first_y),
            ("h1", plain.rest[1]),
            ("out", plain.rest[3]),
        ]
    return [("g0", plain.g[0]), ("g1", plain.g[2]), ("h0", plain.h[0]), ("h1", plain.h[2])]


def _max_diff(a, b) -> float:
    diffs = jax.tree.map(lambda u, v: float(np.max(np.abs(np.asarray(u) - np.asarray(v)))), a, b)
    return max(jax.tree.leaves(diffs))


# --------------------------------------------------------------------------- 2. estimates
def estimate_child(quick: bool) -> list[dict]:
    from flax import nnx
    from torch_mist import estimate_mi

    import jaxinfo
    from jaxinfo._src.estimation import _split  # the held-out split jaxinfo draws
    from jaxinfo.nn import ConcatCritic, estimate_mutual_information

    torch = _torch()
    seeds = [0] if quick else [0, 1, 2]
    steps = 250 if quick else 2000
    n = 5000
    task = jaxinfo.testing.correlated_gaussians(
        FEATURES, FEATURES, correlation=math.sqrt(1 - math.exp(-1)), interaction="sparse"
    )
    rows = []
    for seed in seeds:
        x, y = task.sample(jax.random.key(100 + seed), n)
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
        row = {"case": "SMILE estimate, joint [16, 8]", "seed": seed, "n": n, "steps": steps}
        row["true"] = task.mutual_information

        torch.manual_seed(seed)
        mist = torch_mist_estimator("smile")  # its default initialisation, seeded
        shared = canonical_layers(mist, "joint")  # the same initial weights for jaxinfo
        for label, critic in (
            ("jaxinfo", ConcatCritic(FEATURES, FEATURES, hidden=(16, 8), rngs=nnx.Rngs(seed))),
            ("jaxinfo_shared_init", jaxinfo_critic("joint", shared, np.float32)),
        ):
            start = time.perf_counter()
            result = estimate_mutual_information(
                x,
                y,
                method="smile",
                critic=critic,
                clip=TAU,
                batch_size=BATCH,
                max_steps=steps,
                learning_rate=LEARNING_RATE,
                held_out=0.5,
                evaluate_every=250,
                patience=steps // 250 + 1,  # no early stopping: the fixed step count
                seed=seed,
                progress=False,
            )
            row[f"{label}_wall_s"] = time.perf_counter() - start
            row[f"{label}_best"] = result.value
            row[f"{label}_final"] = float(result.held_out_values[-1])

        train, held = _split(n, 0.5, seed)
        mean_x, std_x = x[train].mean(0), x[train].std(0)
        mean_y, std_y = y[train].mean(0), y[train].std(0)
        xs, ys = (x - mean_x) / std_x, (y - mean_y) / std_y
        start = time.perf_counter()
        value = estimate_mi(
            (xs[train], ys[train]),
            estimator=mist,
            test_data=(xs[held], ys[held]),
            valid_percentage=0.0,
            batch_size=BATCH,
            evaluation_batch_size=BATCH,
            max_iterations=steps,
            optimizer_params={"lr": LEARNING_RATE},
            early_stopping=False,
            fast_train=True,
            logger=False,
            verbose=False,
        )
        row["torch_mist_wall_s"] = time.perf_counter() - start
        row["torch_mist_final"] = float(value)
        row["wall_ratio"] = row["torch_mist_wall_s"] / row["jaxinfo_wall_s"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def summarise(rows: list[dict]) -> dict:
    def stat(key):
        values = [r[key] for r in rows]
        spread = statistics.stdev(values) if len(values) > 1 else float("nan")
        return statistics.mean(values), spread

    summary = {"case": rows[0]["case"] + " (mean, std over seeds)", "seeds": len(rows)}
    keys = [k for k in rows[0] if k.endswith(("_best", "_final", "_wall_s"))]
    for key in keys:
        mean, spread = stat(key)
        summary[key], summary[key + "_std"] = mean, spread
    summary["true"] = rows[0]["true"]
    return summary


# --------------------------------------------------------------------------- driver
def child(args: list[str]) -> list[dict]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"child {args} failed with exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a < 2 minute run (fewer steps)")
    parser.add_argument("--skip-estimates", action="store_true", help="step timing only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _require_torch_mist()
    quick = ["--quick"] if args.quick else []
    if args.child:
        rows = (
            estimate_child(args.quick)
            if args.child == "estimate"
            else step_child(args.child, args.quick)
        )
        print(json.dumps(rows))
        return

    step_rows = []
    for dtype in ("float32", "float64"):
        step_rows += child(["--child", dtype, *quick])
    estimate_rows = [] if args.skip_estimates else child(["--child", "estimate", *quick])
    rows = step_rows + estimate_rows + ([summarise(estimate_rows)] if estimate_rows else [])
    path = results.write_results("neural_estimation" + ("-quick" if args.quick else ""), rows)
    flags = results.environment()["xla_flags"]
    print(f"threads: torch {THREADS} (intra- and inter-op), XLA_FLAGS={flags}")
    results.print_table(
        step_rows,
        [
            "case",
            "dtype",
            "params_jaxinfo",
            "params_torch_mist",
            "jaxinfo_call_ms",
            "jaxinfo_scan_ms",
            "jaxinfo_scan_smile_ms",
            "jaxinfo_call_default_ms",
            "jaxinfo_scan_default_ms",
            "torch_mist_ms",
            "torch_plain_ms",
            "ratio_call",
            "ratio_scan",
            "ratio_scan_smile",
            "ratio_call_default",
            "ratio_scan_default",
            "ratio_plain_scan",
            "grad_diff_torch_mist",
            "grad_diff_plain",
        ],
    )
    if estimate_rows:
        print()
        results.print_table(
            estimate_rows + [summarise(estimate_rows)],
            [
                "case",
                "seed",
                "steps",
                "true",
                "jaxinfo_best",
                "jaxinfo_final",
                "jaxinfo_shared_init_best",
                "jaxinfo_shared_init_final",
                "torch_mist_final",
                "jaxinfo_wall_s",
                "jaxinfo_shared_init_wall_s",
                "torch_mist_wall_s",
            ],
        )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
