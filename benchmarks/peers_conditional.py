"""Peer values of conditional mutual information for tests/test_conditional.py (issue 27, item 1).

Fixed NumPy data (``default_rng``, float64, n = 400) of three shapes of ``(x, y, z)``, and
for each: infomeasure's ``KSGCMIEstimator`` (Frenzel-Pompe, max-norm, strict counts,
``psi(count + 1)``; ``k = 3``, its noise off), frites' ``cmi_nd_ggg`` (the Gaussian CMI, with
and without its bias correction) and ``gccmi_nd_ccc`` (the Gaussian-copula CMI). Peers are
NumPy programs in the ``benchmarks`` extra only, so the default tests read their values from
``tests/data/peers_conditional.json`` (data in ``tests/data/peers_conditional.npz``).

Run (an environment with infomeasure 0.6.3 and frites 0.4.6, e.g. /tmp/im-venv):

    python benchmarks/peers_conditional.py
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data"
N = 400
K = 3


def datasets() -> dict[str, np.ndarray]:
    """``{name_x, name_y, name_z}`` arrays ``[n, d]``: non-Gaussian, dependent given z."""
    rng = np.random.default_rng(27)
    out = {}
    for name, (dx, dy, dz) in {"d111": (1, 1, 1), "d212": (2, 1, 2), "d123": (1, 2, 3)}.items():
        z = rng.standard_normal((N, dz))
        x = np.tanh(z.sum(axis=1, keepdims=True)) + 0.5 * rng.standard_normal((N, dx))
        y = 0.6 * x.sum(axis=1, keepdims=True) ** 3 + z[:, :1] + rng.standard_normal((N, dy))
        out[f"{name}_x"], out[f"{name}_y"], out[f"{name}_z"] = x, y, z
    return out


def main() -> None:
    import infomeasure as im  # pyright: ignore[reportMissingImports]
    from frites.core import cmi_nd_ggg, gccmi_nd_ccc  # pyright: ignore[reportMissingImports]

    data = datasets()
    names = sorted({key.rsplit("_", 1)[0] for key in data})
    values = {}
    for name in names:
        x, y, z = data[f"{name}_x"], data[f"{name}_y"], data[f"{name}_z"]
        ksg = im.conditional_mutual_information(
            x, y, cond=z, approach="ksg", k=K, noise_level=0, base="e"
        )
        # frites: variables on axis 0 (mvaxis), trials last; values in bits
        xt, yt, zt = x.T, y.T, z.T
        bits = np.log(2.0)
        values[name] = {
            "infomeasure_ksg_k3": float(ksg),
            "frites_gaussian": float(cmi_nd_ggg(xt, yt, zt, mvaxis=0, biascorrect=False)) * bits,
            "frites_gaussian_bias_corrected": float(
                cmi_nd_ggg(xt, yt, zt, mvaxis=0, biascorrect=True)
            )
            * bits,
            # gccmi_nd_ccc always applies the bias correction
            "frites_copula_bias_corrected": float(gccmi_nd_ccc(xt, yt, zt, mvaxis=0)) * bits,
        }
    np.savez(DATA / "peers_conditional.npz", allow_pickle=False, **data)
    meta = {
        "command": "python benchmarks/peers_conditional.py",
        "peers": {"infomeasure": im.__version__, "frites": _version("frites")},
        "n": N,
        "k": K,
        "units": "nats",
        "values": values,
    }
    (DATA / "peers_conditional.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(values, indent=2))


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main()
