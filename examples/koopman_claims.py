"""The Koopman reproduction table: each claim of Cheng et al. checked per configuration.

Reads the ``koopman_*.json`` runs of ``examples/koopman_lorenz.py`` in a folder (written by
``examples/koopman_reproduce.sh``) and prints, as Markdown:

1. per configuration and (alpha, gamma): d_eff, K's spectral radius, latent and re-encoded
   N-step NRMSE and KLD, mean ± std over seeds;
2. per claim and configuration: reproduced / not reproduced / mixed, by the seed-wise rule
   in ``verdict``:
   - C1, d_eff rises with gamma (at fixed alpha),
   - C2, alpha alone lowers d_eff (Prop. 4): (2, 0) against (0, 0),
   - C3, the full model (2, 0.1) forecasts no worse than the plain autoencoder (0, 0).

It also draws ``koopman_claims.png`` (d_eff against gamma; 20-step errors; the
linear-Gaussian optimum of Props 4-5 against alpha / gamma from
``testing.gaussian_koopman_optimal_covariance``).

Run: python examples/koopman_claims.py examples/output [--figure docs/images/koopman_lorenz.png]
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

HORIZONS = (5, 20, 50)


def family(config: dict) -> str:
    """A configuration's name without its (alpha, gamma) grid."""
    name = f"{config['system']} {config['protocol']} {config['information']} {config['operator']}"
    if config.get("contrast", "batch") == "window" and config["protocol"] == "paper":
        name += " window-contrast"
    if not config["spectral_norm"]:
        name += " no-spectral-norm"
    if config["steps"] != 3000 or config["batch"] not in (16, 32):
        name += f" {config['steps']}x{config['batch']}"
    return name


def load(folder: pathlib.Path) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("koopman_*.json")):
        payload = json.loads(path.read_text())
        if "runs" not in payload:
            continue
        runs.setdefault(family(payload["config"]), []).extend(payload["runs"])
    return runs


def baseline_family(name: str, runs: dict[str, list[dict]]) -> str:
    """Where the (0, 0) runs of ``name`` are: alpha = 0 trains the same whatever the
    information term or its contrast (the term is computed with weight 0), so a Gaussian or
    windowed-contrast family borrows the batch-contrast InfoNCE family's."""
    if any(r["alpha"] == 0 and r["gamma"] == 0 for r in runs[name]):
        return name
    return name.replace(" gaussian ", " infonce ").replace(" window-contrast", "")


def select(rows: list[dict], alpha: float, gamma: float) -> list[dict]:
    return sorted((r for r in rows if r["alpha"] == alpha and r["gamma"] == gamma), key=seed)


def seed(row: dict) -> int:
    return row["seed"]


def verdict(lower: list[float], higher: list[float]) -> str:
    """``"yes"`` if ``lower < higher`` in every paired seed, ``"no"`` if in none, else mixed."""
    pairs = list(zip(lower, higher, strict=False))
    if not pairs:
        return "n/a"
    wins = sum(a < b for a, b in pairs)
    return "yes" if wins == len(pairs) else "no" if wins == 0 else f"mixed {wins}/{len(pairs)}"


def metric_keys() -> list[str]:
    keys = ["d_eff", "spectral_radius"]
    keys += [f"nrmse_latent_{h}" for h in HORIZONS] + [f"nrmse_reencoded_{h}" for h in HORIZONS]
    return keys + ["kld_latent", "kld_reencoded"]


def results_table(runs: dict[str, list[dict]]) -> list[str]:
    lines = [
        "| configuration | α | γ | seeds | d_eff | ρ(K) | latent 5/20/50-NRMSE (median) | "
        "re-encoded 5/20/50-NRMSE (median) | KLD latent | KLD re-encoded |",
        "|" + "---|" * 10,
    ]

    def cell(values, digits=3):
        return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"

    for name, rows in runs.items():
        for alpha, gamma in dict.fromkeys((r["alpha"], r["gamma"]) for r in rows):
            chosen = select(rows, alpha, gamma)

            def column(key, chosen=chosen):
                return [r[key] for r in chosen]

            # Medians: one diverged rollout would set a mean on its own.
            latent = " / ".join(f"{np.median(column(f'nrmse_latent_{h}')):.3f}" for h in HORIZONS)
            again = " / ".join(f"{np.median(column(f'nrmse_reencoded_{h}')):.3f}" for h in HORIZONS)
            lines.append(
                f"| {name} | {alpha:g} | {gamma:g} | {len(chosen)} | {cell(column('d_eff'), 2)} "
                f"| {np.mean(column('spectral_radius')):.3f} | {latent} | {again} | "
                f"{cell(column('kld_latent'), 2)} | {cell(column('kld_reencoded'), 3)} |"
            )
    return lines


def claims_table(runs: dict[str, list[dict]]) -> list[str]:
    lines = [
        "| configuration | C1: d_eff rises with γ | C2: α alone lowers d_eff | "
        "C3: (2, 0.1) latent NRMSE 5/20/50, KLD ≤ plain | C3 re-encoded 5/20/50, KLD |",
        "|---|---|---|---|---|",
    ]
    for name, rows in runs.items():
        base = runs.get(baseline_family(name, runs), [])
        plain = select(base, 0.0, 0.0)
        c1 = []
        for alpha in sorted({r["alpha"] for r in rows}):
            gammas = sorted({r["gamma"] for r in rows if r["alpha"] == alpha})
            if alpha == 0 and 0.0 not in gammas and plain:
                gammas = [0.0, *gammas]
            effective = [
                [r["d_eff"] for r in select(base if (alpha, g) == (0, 0) else rows, alpha, g)]
                for g in gammas
            ]
            steps = [verdict(a, b) for a, b in zip(effective, effective[1:], strict=False)]
            if steps:
                c1.append(f"α={alpha:g}: " + ", ".join(steps))
        alone = select(rows, 2.0, 0.0)
        c2 = verdict([r["d_eff"] for r in alone], [r["d_eff"] for r in plain])
        full = select(rows, 2.0, 0.1)
        c3 = []
        for kind in ("latent", "reencoded"):
            marks = [
                verdict(
                    [r[f"nrmse_{kind}_{h}"] for r in full], [r[f"nrmse_{kind}_{h}"] for r in plain]
                )
                for h in HORIZONS
            ]
            marks.append(
                verdict([r[f"kld_{kind}"] for r in full], [r[f"kld_{kind}"] for r in plain])
            )
            c3.append(" / ".join(marks))
        lines.append(f"| {name} | {'; '.join(c1) or 'n/a'} | {c2} | {c3[0]} | {c3[1]} |")
    return lines


def plot(runs: dict[str, list[dict]], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxinfo import testing

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    shown = [
        ("lorenz paper infonce learned", "Lorenz, InfoNCE, learned K"),
        ("lorenz paper gaussian learned", "Lorenz, Gaussian, learned K"),
        ("lorenz paper infonce ridge", "Lorenz, InfoNCE, ridge K"),
        ("pendulum paper infonce learned", "pendulum, InfoNCE, learned K"),
    ]
    for name, label in shown:
        if name not in runs:
            continue
        rows = runs[name]
        for alpha, style in ((0.0, "--"), (2.0, "-")):
            gammas = sorted({r["gamma"] for r in rows if r["alpha"] == alpha and r["gamma"] >= 0})
            means = [np.mean([r["d_eff"] for r in select(rows, alpha, g)]) for g in gammas]
            spreads = [np.std([r["d_eff"] for r in select(rows, alpha, g)]) for g in gammas]
            if len(gammas) > 1:
                axes[0].errorbar(
                    gammas,
                    means,
                    spreads,
                    ls=style,
                    marker="o",
                    capsize=3,
                    label=f"{label}, α={alpha:g}",
                )
    axes[0].set(xlabel="γ", ylabel="test d_eff (mean ± std)")
    axes[0].legend(fontsize=6)
    names = [n for n in runs if n.startswith("lorenz")]
    for offset, kind in enumerate(("latent", "reencoded")):
        plain, full = [], []
        for name in names:
            base = runs.get(baseline_family(name, runs), [])
            plain.append(
                np.mean([r[f"nrmse_{kind}_20"] for r in select(base, 0.0, 0.0)] or [np.nan])
            )
            full.append(
                np.mean([r[f"nrmse_{kind}_20"] for r in select(runs[name], 2.0, 0.1)] or [np.nan])
            )
        x = np.arange(len(names)) + 0.4 * offset
        axes[1].bar(x, full, 0.2, label=f"(2, 0.1) {kind}")
        axes[1].scatter(x, plain, color="k", marker="_", s=200, zorder=3)
    axes[1].set_xticks(
        np.arange(len(names)) + 0.2,
        [n.replace("lorenz ", "") for n in names],
        rotation=60,
        ha="right",
        fontsize=6,
    )
    axes[1].set(ylabel="20-step NRMSE, median of seeds", yscale="log")
    axes[1].set_title("bars: (α, γ) = (2, 0.1); black: plain autoencoder", fontsize=8)
    axes[1].legend(fontsize=7)
    k = np.diag([0.95, 0.8, 0.6, 0.3, 0.1])
    ratios = np.logspace(-2, 3, 40)
    for power in (0.1, 1.0, 10.0):
        dims = []
        for ratio in ratios:
            c = testing.gaussian_koopman_optimal_covariance(
                k, 0.1 * np.eye(5), alpha=float(ratio), gamma=1.0, power=power
            )
            q = np.clip(np.linalg.eigvalsh(c) / power, 1e-300, None)
            dims.append(np.exp(-np.sum(q * np.log(q))))
        axes[2].semilogx(ratios, dims, label=f"tr C = {power:g}")
    axes[2].set(xlabel="α / γ", ylabel="optimal d_eff", title="linear-Gaussian optimum (Props 4-5)")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder", nargs="?", default="examples/output")
    parser.add_argument("--figure", default=None, help="default: <folder>/koopman_claims.png")
    args = parser.parse_args()
    folder = pathlib.Path(args.folder)
    runs = load(folder)
    print("\n".join(results_table(runs)))
    print()
    print("\n".join(claims_table(runs)))
    try:
        plot(runs, pathlib.Path(args.figure or folder / "koopman_claims.png"))
    except ImportError:
        print("matplotlib not installed: no figure")


if __name__ == "__main__":
    main()
