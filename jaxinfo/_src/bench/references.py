"""Reference implementations of jaxinfo's measures: what a user would otherwise run.

Plain NumPy formulas (dense Gram matrices, LAPACK eigensolvers), SciPy / scikit-learn
neighbour searches and the installed reference packages, all on NumPy arrays, in nats unless
the docstring says bits. ``jaxinfo bench --compare`` and ``benchmarks/*.py`` time them against
jaxinfo; ``tests/test_bench.py`` checks that each agrees with the jaxinfo measure of its name.

The Gram-based formulas take an array namespace ``xp`` (``numpy`` or ``torch``) and use only
operators and functions both share, so the PyTorch peers (autograd included) are these same
formulas. A reference whose package is missing raises :class:`MissingPeer`.
"""

from __future__ import annotations

import importlib
import math

import numpy as np


class MissingPeer(Exception):
    """The reference's package is not installed (the message names it)."""


def _require(module: str, package: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPeer(f"pip install {package}") from None


# --------------------------------------------------------------------------- Gram formulas
def squared_distances(a, b, xp=np):
    """``|a_i - b_j|^2`` by the GEMM identity, about the joint mean (less cancellation)."""
    centre = (a.sum(0) + b.sum(0)) / (a.shape[0] + b.shape[0])
    a, b = a - centre, b - centre
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return squared.clip(0.0)


def gaussian_gram(a, b, sigma: float, xp=np):
    """``exp(-|a_i - b_j|^2 / (2 sigma^2))``, dense."""
    return xp.exp(-squared_distances(a, b, xp) / (2.0 * sigma * sigma))


def renyi_entropy_of_spectrum(values, alpha: float) -> float:
    """Rényi entropy of order ``alpha`` of nonnegative values scaled to sum 1 (1: Shannon)."""
    values = np.asarray(values, np.float64)
    values = values[values > 0] / np.sum(values[values > 0])
    if alpha == 1.0:
        return float(-np.sum(values * np.log(values)))
    return float(np.log(np.sum(values**alpha)) / (1.0 - alpha))


def matrix_renyi_entropy(gram, alpha: float, xp=np) -> float:
    """Matrix-based Rényi entropy of a Gram matrix: the values-only eigensolve of ``K / tr K``."""
    values = xp.linalg.eigvalsh(gram / xp.trace(gram))
    return renyi_entropy_of_spectrum(np.asarray(values), alpha)


def matrix_collision_entropy(gram) -> float:
    """Order-2 matrix-based Rényi entropy without an eigensolver: ``-log |K / tr K|_F^2``."""
    unit = gram / np.trace(gram)
    return float(-np.log(np.sum(unit * unit)))


def cauchy_schwarz_divergence(x, y, sigma: float, xp=np):
    """Plug-in CS divergence from the three mean Gaussian Grams."""
    return (
        xp.log(gaussian_gram(x, x, sigma, xp).mean())
        + xp.log(gaussian_gram(y, y, sigma, xp).mean())
        - 2.0 * xp.log(gaussian_gram(x, y, sigma, xp).mean())
    )


def cauchy_schwarz_mutual_information(x, y, sigma: float, xp=np, normalized: bool = False):
    """CS-QMI from the dense Grams (``normalized``: over ``sqrt(I(X; X) I(Y; Y))``)."""

    def qmi(k, q):
        n = k.shape[0]
        joint = (k * q).sum() / n**2
        marginals = k.sum() * q.sum() / n**4
        cross = (k.sum(1) * q.sum(1)).sum() / n**3
        return xp.log(joint) + xp.log(marginals) - 2.0 * xp.log(cross)

    k, q = gaussian_gram(x, x, sigma, xp), gaussian_gram(y, y, sigma, xp)
    return qmi(k, q) / (qmi(k, k) * qmi(q, q)) ** 0.5 if normalized else qmi(k, q)


def conditional_cauchy_schwarz_divergence(x, y, y_pred, sigma: float, xp=np):
    """Symmetric conditional CS divergence with shared inputs ``x``, dense."""
    k = gaussian_gram(x, x, sigma, xp)
    weight = k.sum(1) ** 2

    def term(a, b):
        return ((k * gaussian_gram(a, b, sigma, xp)).sum(1) / weight).sum()

    return (
        xp.log(term(y, y))
        + xp.log(term(y_pred, y_pred))
        - xp.log(term(y, y_pred))
        - xp.log(term(y_pred, y))
    )


def cauchy_schwarz_information_bottleneck_loss(x, y, y_pred, t, sigma: float, beta: float, xp=np):
    """CS-IB loss: conditional CS divergence plus ``beta`` times the normalised CS-QMI."""
    prediction = conditional_cauchy_schwarz_divergence(x, y, y_pred, sigma, xp)
    return prediction + beta * cauchy_schwarz_mutual_information(x, t, sigma, xp, True)


def diffusion_operator(x, sigma: float):
    """``D^-1/2 G D^-1/2``: the symmetric operator whose spectrum DSE uses."""
    gram = gaussian_gram(x, x, sigma)
    inv_sqrt = 1.0 / np.sqrt(gram.sum(axis=1))
    return gram * inv_sqrt[:, None] * inv_sqrt[None, :]


def diffusion_spectral_entropy(x, sigma: float, t: int = 1) -> float:
    """Shannon entropy of the diffusion operator's ``|eigenvalues|^t``, scaled to sum 1."""
    values = np.abs(np.linalg.eigvalsh(diffusion_operator(x, sigma))) ** t
    return renyi_entropy_of_spectrum(values, 1.0)


# --------------------------------------------------------------------------- other formulas
def gaussian_mutual_information(x, y) -> float:
    """Gaussian MI from the sample covariance and ``slogdet``."""
    dx = x.shape[1]
    joint = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return float(0.5 * (logdet(joint[:dx, :dx]) + logdet(joint[dx:, dx:]) - logdet(joint)))


def knn_entropy(x, k: int) -> float:
    """Kozachenko–Leonenko entropy with ``scipy.spatial.cKDTree`` neighbours."""
    spatial = _require("scipy.spatial", "scipy")
    special = _require("scipy.special", "scipy")
    n, d = x.shape
    distances = spatial.cKDTree(x).query(x, k=k + 1)[0][:, -1]
    log_ball = 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)
    return float(
        special.digamma(n) - special.digamma(k) + log_ball + d * np.mean(np.log(distances))
    )


def ksg_mutual_information(x, y, k: int) -> float:
    """KSG estimator 1 with ``scipy.spatial.cKDTree`` searches (NPEET style).

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


def knn_kl_divergence(x, y, k: int) -> float:
    """Wang–Kulkarni–Verdú KL divergence with ``scipy.spatial.cKDTree`` distances."""
    spatial = _require("scipy.spatial", "scipy")
    n, d = x.shape
    rho = spatial.cKDTree(x).query(x, k=k + 1)[0][:, -1]
    nu = spatial.cKDTree(y).query(x, k=k)[0]
    nu = nu[:, -1] if nu.ndim == 2 else nu
    return float(d * np.mean(np.log(nu / rho)) + math.log(y.shape[0] / (n - 1.0)))


# --------------------------------------------------------------------------- packages
def sklearn_ksg_mutual_information(x, y, k: int) -> float:
    """scikit-learn's ``mutual_info_regression`` (KSG with one target column).

    It standardises ``x`` and adds 1e-10-scale noise, so values differ slightly from KSG.
    """
    feature_selection = _require("sklearn.feature_selection", "scikit-learn")
    return float(
        feature_selection.mutual_info_regression(x, y[:, 0], n_neighbors=k, random_state=0)[0]
    )


def torch_matrix_renyi_entropy(x, sigma: float, alpha: float) -> float:
    """The PyTorch route: the Gaussian Gram and a values-only ``eigvalsh`` in torch."""
    torch = _require("torch", "torch")
    t = torch.from_numpy(x)
    return matrix_renyi_entropy(gaussian_gram(t, t, sigma, torch), alpha, torch)


def dse_dsmi_entropy(x, sigma: float) -> float:
    """The reference package ``dse-dsmi`` (bits, ``t = 1``)."""
    dse = _require("dse_dsmi", "dse-dsmi")
    return float(dse.diffusion_spectral_entropy(x, gaussian_kernel_sigma=sigma, t=1))
