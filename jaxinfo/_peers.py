"""Peers for ``jaxinfo bench --compare``: what a user would otherwise run.

NumPy / SciPy / scikit-learn research-script equivalents and the installed reference packages.

Each peer takes NumPy arrays and returns a float in nats (bits where its reference reports
bits, matching the jaxinfo call it is compared with). A peer whose package is missing raises
:class:`MissingPeer` naming the package to install; the bench reports it as skipped.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class MissingPeer(Exception):
    """The peer's package is not installed (the message names it)."""


def _require(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPeer(f"pip install {package}") from None


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    centre = np.concatenate([a, b]).mean(axis=0)
    a, b = a - centre, b - centre
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(sq, 0.0)


def _gaussian_gram(a: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-_squared_distances(a, b) / (2.0 * sigma * sigma))


def numpy_matrix_renyi_entropy(x: np.ndarray, sigma: float, alpha: float) -> float:
    """Gram in NumPy, then ``-log |K / n|_F^2`` at order 2, else LAPACK ``eigvalsh`` (nats)."""
    unit = _gaussian_gram(x, x, sigma) / x.shape[0]
    if alpha == 2.0:
        return float(-np.log(np.sum(unit * unit)))
    values = np.linalg.eigvalsh(unit)
    values = values[values > 0]
    return float(np.log(np.sum(values**alpha)) / (1.0 - alpha))


def torch_matrix_renyi_entropy(x: np.ndarray, sigma: float, alpha: float) -> float:
    """The PyTorch research-script route: ``cdist``, ``exp``, values-only ``eigvalsh``."""
    torch = _require("torch", "torch")
    t = torch.from_numpy(x)
    gram = torch.exp(-(torch.cdist(t, t) ** 2) / (2.0 * sigma * sigma)) / t.shape[0]
    values = torch.linalg.eigvalsh(gram)
    values = values[values > 0]
    return float(torch.log(torch.sum(values**alpha)) / (1.0 - alpha))


def numpy_cauchy_schwarz_divergence(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """Plug-in CS divergence from the three mean Gaussian Grams (nats)."""
    cross = _gaussian_gram(x, y, sigma).mean()
    return float(
        np.log(_gaussian_gram(x, x, sigma).mean())
        + np.log(_gaussian_gram(y, y, sigma).mean())
        - 2.0 * np.log(cross)
    )


def sklearn_ksg_mutual_information(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """scikit-learn's ``mutual_info_regression`` (KSG with one target column).

    It standardises ``x`` and adds 1e-10-scale noise, so values differ slightly from KSG.
    """
    feature_selection = _require("sklearn.feature_selection", "scikit-learn")
    return float(
        feature_selection.mutual_info_regression(x, y[:, 0], n_neighbors=k, random_state=0)[0]
    )


def scipy_knn_entropy(x: np.ndarray, k: int) -> float:
    """Kozachenko–Leonenko entropy (nats) with ``scipy.spatial.cKDTree`` neighbours."""
    spatial = _require("scipy.spatial", "scipy")
    special = _require("scipy.special", "scipy")
    n, d = x.shape
    distances = spatial.cKDTree(x).query(x, k=k + 1)[0][:, -1]
    log_ball = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)
    return float(
        special.digamma(n) - special.digamma(k) + log_ball + d * np.mean(np.log(distances))
    )


def scipy_ksg_mutual_information(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """KSG estimator 1 (nats) with ``scipy.spatial.cKDTree`` searches (NPEET style).

    Joint max-norm k-th neighbour distances, then marginal counts strictly inside them by
    ``query_ball_point`` at the next float below the radius (NPEET subtracts 1e-15).
    """
    spatial = _require("scipy.spatial", "scipy")
    special = _require("scipy.special", "scipy")
    joint = np.concatenate([x, y], axis=1)
    radius = spatial.cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, -1]
    reach = np.nextafter(radius, 0)

    def mean_digamma(points):  # counts include the point itself: psi(n_x + 1)
        counts = spatial.cKDTree(points).query_ball_point(
            points, reach, p=np.inf, return_length=True
        )
        return np.mean(special.digamma(counts))

    n = x.shape[0]
    return float(special.digamma(k) + special.digamma(n) - mean_digamma(x) - mean_digamma(y))


def scipy_knn_kl_divergence(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Wang–Kulkarni–Verdú KL divergence (nats) with ``scipy.spatial.cKDTree`` distances."""
    spatial = _require("scipy.spatial", "scipy")
    n, d = x.shape
    rho = spatial.cKDTree(x).query(x, k=k + 1)[0][:, -1]
    nu = spatial.cKDTree(y).query(x, k=k)[0]
    nu = nu[:, -1] if nu.ndim == 2 else nu
    return float(d * np.mean(np.log(nu / rho)) + math.log(y.shape[0] / (n - 1.0)))


def numpy_gaussian_mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """Gaussian MI from sample covariances and ``slogdet`` (nats)."""
    dx = x.shape[1]
    joint = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return float(0.5 * (logdet(joint[:dx, :dx]) + logdet(joint[dx:, dx:]) - logdet(joint)))


def dse_dsmi_entropy(x: np.ndarray, sigma: float) -> float:
    """The reference package ``dse-dsmi`` (bits, ``t = 1``)."""
    dse = _require("dse_dsmi", "dse-dsmi")
    return float(dse.diffusion_spectral_entropy(x, gaussian_kernel_sigma=sigma, t=1))


@dataclass(frozen=True)
class Peer:
    """One peer of a bench family: a name and ``run(*numpy_inputs) -> float``."""

    name: str
    run: Callable[..., float]
