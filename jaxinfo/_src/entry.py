"""Entry points: ``mutual_information``, ``entropy``, ``conditional_mutual_information``.

Each takes ``method=`` naming the estimator, and each method is a direct call of one public
estimator with the options the caller passed (an option left ``None`` is not passed, so the
estimator's own default applies and is documented in one place). An option that the chosen
method does not read is an error naming it and the method. ``method="auto"`` picks from
static facts only (integer or float dtype, the total dimension), by the rule in
:data:`MUTUAL_INFORMATION_RULE`, :data:`ENTROPY_RULE` and
:data:`CONDITIONAL_MUTUAL_INFORMATION_RULE`, chosen from measurements on the accuracy suite
(benchmarks/auto_rule.py; docs/choosing.md). The result is an :class:`Estimate`, a pytree
whose ``method`` is static, so it passes through ``jit`` and ``vmap``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.typing import ArrayLike

from jaxinfo._src import validation
from jaxinfo._src.cauchy_schwarz import cauchy_schwarz_conditional_mutual_information
from jaxinfo._src.discrete import (
    binned_mutual_information,
    chao_shen_entropy,
    discrete_mutual_information,
    grassberger_entropy,
    miller_madow_entropy,
    plugin_entropy,
)
from jaxinfo._src.gaussian import (
    gaussian_conditional_mutual_information,
    gaussian_copula_conditional_mutual_information,
    gaussian_copula_mutual_information,
    gaussian_entropy,
    gaussian_mutual_information,
)
from jaxinfo._src.kde import kde_entropy
from jaxinfo._src.kernels import KernelLike
from jaxinfo._src.mixed import (
    checked_labels,
    mixed_ksg_mutual_information,
    ross_mutual_information,
)
from jaxinfo._src.neighbours import (
    knn_entropy,
    ksg_conditional_mutual_information,
    ksg_mutual_information,
)
from jaxinfo._src.options import (
    CONDITIONAL_MUTUAL_INFORMATION_METHODS,
    ENTROPY_METHODS,
    MUTUAL_INFORMATION_METHODS,
    ConditionalMutualInformationMethod,
    EntropyCorrection,
    EntropyMethod,
    MutualInformationMethod,
)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["value"], meta_fields=["method"])
@dataclasses.dataclass(frozen=True)
class Estimate:
    """The value of an entry point and the method that ran.

    The result of :func:`mutual_information`, :func:`entropy` and
    :func:`conditional_mutual_information`.

    A pytree: ``value`` is its one leaf and ``method`` is static, so an ``Estimate`` is
    returned from ``jax.jit`` and ``jax.vmap`` (``value`` then batched) like an array.

    Attributes:
      value: the estimate, a scalar array in nats (bits with ``base=2``); unclipped.
      method: the method that ran, never ``"auto"`` (the rule's pick is recorded).
    """

    value: jax.Array
    method: str


@dataclasses.dataclass(frozen=True)
class Rule:
    """One row of an auto rule: the first row whose conditions hold picks ``method``.

    ``dtype`` is ``"integer"`` or ``"float"`` (of every input), or ``"mixed"`` (one float
    input and one integer input, in either order); ``max_dim`` bounds the total dimension
    (``None``: any).
    """

    dtype: str
    max_dim: int | None
    method: str


MUTUAL_INFORMATION_RULE: tuple[Rule, ...] = (
    Rule("integer", None, "discrete"),
    Rule("float", 4, "ksg"),
    Rule("float", None, "copula"),
    Rule("mixed", None, "ross"),
)
"""``method="auto"`` of :func:`mutual_information` (docs/choosing.md, "The auto rule")."""

ENTROPY_RULE: tuple[Rule, ...] = (
    Rule("integer", None, "miller_madow"),
    Rule("float", 5, "knn"),
    Rule("float", None, "gaussian"),
)
"""``method="auto"`` of :func:`entropy` (docs/choosing.md, "The auto rule")."""

# The options each method reads besides ``base`` (every method) and ``where`` / ``axis_name``
# (every method but ``"neural"``).
MUTUAL_INFORMATION_OPTIONS: dict[str, tuple[str, ...]] = {
    "ksg": ("k", "block_size"),
    "gaussian": ("shrinkage", "bias_correction"),
    "copula": ("shrinkage", "bias_correction"),
    "kde": ("bandwidth", "block_size"),
    "binned": ("bins", "adaptive", "correction"),
    "discrete": ("num_x", "num_y", "correction"),
    "neural": ("seed",),
    "ross": ("k", "block_size"),
    "mixed_ksg": ("k", "block_size"),
}
ENTROPY_OPTIONS: dict[str, tuple[str, ...]] = {
    "knn": ("k", "block_size"),
    "gaussian": ("shrinkage", "bias_correction"),
    "kde": ("bandwidth", "block_size"),
    "plugin": ("num_classes",),
    "miller_madow": ("num_classes",),
    "grassberger": ("num_classes",),
    "chao_shen": ("num_classes",),
}
_ROWS = ("where", "axis_name")


def _kind(arrays: Sequence[jax.Array]) -> str:
    """``"integer"`` or ``"float"`` for the auto rule; mixed kinds have no method."""
    kinds = {"integer" if jnp.issubdtype(a.dtype, jnp.integer) else "float" for a in arrays}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _dim(array: jax.Array) -> int:
    return int(array.shape[1]) if array.ndim == 2 else 1


def pick(rule: Sequence[Rule], kind: str, dim: int) -> str | None:
    """The method ``rule`` picks for inputs of ``kind`` and total dimension ``dim``."""
    for row in rule:
        if row.dtype == kind and (row.max_dim is None or dim <= row.max_dim):
            return row.method
    return None


def _chosen(
    method: str, allowed: Sequence[str], rule: Sequence[Rule], arrays, names
) -> tuple[str, str]:
    """The method to run and how to describe it in an error (``method='auto' chose 'ksg'``)."""
    validation.check_choice(method, "method", allowed)
    if method != "auto":
        return method, f"method={method!r}"
    kind = _kind(arrays)
    dim = sum(_dim(a) for a in arrays)
    chosen = pick(rule, kind, dim)
    if chosen is None:
        dtypes = ", ".join(f"`{n}` {a.dtype}" for n, a in zip(names, arrays, strict=True))
        if kind == "integer":
            raise TypeError(
                f"method='auto' has no estimator for integer inputs here ({dtypes}). Cast "
                "them to float for a continuous method."
            )
        raise TypeError(
            f"method='auto' has no estimator for these inputs ({dtypes}). "
            "Pick a `method` explicitly."
        )
    return chosen, f"method='auto' (which chose {chosen!r} for these inputs)"


def checked_options(
    chosen: str, described: str, takes: dict[str, tuple[str, ...]], passed: dict[str, Any]
) -> dict[str, Any]:
    """The passed options of ``chosen``; any other passed option is a ``ValueError``."""
    own = takes[chosen] + (() if chosen == "neural" else _ROWS)
    for name, value in passed.items():
        if value is not None and name not in own:
            owners = [m for m, names in takes.items() if name in names]
            belongs = (
                f"it is an option of method {' / '.join(map(repr, owners))}"
                if owners
                else "every other method reads it"
            )
            raise ValueError(
                f"`{name}` is not an option of {described}: {belongs}. {chosen!r} takes "
                f"{', '.join(('base', *own))}. Drop `{name}` or pick another `method`."
            )
    return {name: value for name, value in passed.items() if value is not None}


def _alphabet(labels: jax.Array, name: str, where, option: str) -> int | tuple[int, ...]:
    """Alphabet size of concrete labels (largest valid label + 1, per column)."""
    values = validation.concrete_value(labels)
    mask = None if where is None else validation.concrete_value(where)
    if values is None or (where is not None and mask is None):
        raise ValueError(
            f"`{option}` is needed under jit/vmap: the number of classes of `{name}` is a "
            f"static size. Pass `{option}=`."
        )
    if values.ndim not in (1, 2) or values.shape[0] == 0:
        return 1  # the estimator raises its own shape error
    if values.ndim == 2:
        columns = [values[:, j] for j in range(values.shape[1])]
    else:
        columns = [values]
    valid = np.ones(values.shape[0], bool) if mask is None else mask.astype(bool)
    sizes = tuple(int(c[valid].max(initial=0)) + 1 for c in columns)
    return sizes if values.ndim == 2 else sizes[0]


def _kde_mutual_information(x, y, *, base=None, **options) -> jax.Array:
    joint = jnp.concatenate([x, y], axis=1)
    return (
        kde_entropy(x, base=base, **options)
        + kde_entropy(y, base=base, **options)
        - kde_entropy(joint, base=base, **options)
    )


def _ross_mutual_information(x, y, **options) -> jax.Array:
    """Ross's estimator with the integer side as the labels (MI is symmetric)."""
    if jnp.issubdtype(x.dtype, jnp.integer) and not jnp.issubdtype(y.dtype, jnp.integer):
        checked_labels(x, y.shape[0], "x", paired_with="y")
        return ross_mutual_information(y, x, **options)
    checked_labels(y, x.shape[0], "y")
    return ross_mutual_information(x, y, **options)


def _mixed_ksg_mutual_information(x, y, **options) -> jax.Array:
    """Mixed KSG with integer inputs as float columns (equal labels at distance 0)."""
    floats = [a.dtype for a in (x, y) if not jnp.issubdtype(a.dtype, jnp.integer)]
    dtype = validation.compute_dtype(floats[0] if floats else jnp.float64)

    def as_columns(a):
        if not jnp.issubdtype(a.dtype, jnp.integer):
            return a
        return (a[:, None] if a.ndim == 1 else a).astype(dtype)

    return mixed_ksg_mutual_information(as_columns(x), as_columns(y), **options)


def _neural_mutual_information(x, y, **options) -> jax.Array:
    if any(isinstance(a, Tracer) for a in (x, y)):
        raise TypeError(
            "method='neural' trains a network with a host-side loop: it cannot run under "
            "jax.jit, vmap or grad. Call it outside the transformation."
        )
    from jaxinfo._src.estimation import estimate_mutual_information  # loads Flax and optax

    return jnp.asarray(estimate_mutual_information(x, y, **options).value)


_MUTUAL_INFORMATION: dict[str, Callable[..., jax.Array]] = {
    "ksg": ksg_mutual_information,
    "gaussian": gaussian_mutual_information,
    "copula": gaussian_copula_mutual_information,
    "kde": _kde_mutual_information,
    "binned": binned_mutual_information,
    "discrete": discrete_mutual_information,
    "neural": _neural_mutual_information,
    "ross": _ross_mutual_information,
    "mixed_ksg": _mixed_ksg_mutual_information,
}
_ENTROPY: dict[str, Callable[..., jax.Array]] = {
    "knn": knn_entropy,
    "gaussian": gaussian_entropy,
    "kde": kde_entropy,
    "plugin": plugin_entropy,
    "miller_madow": miller_madow_entropy,
    "grassberger": grassberger_entropy,
    "chao_shen": chao_shen_entropy,
}


def mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    method: MutualInformationMethod = "auto",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    k: int | None = None,
    block_size: int | None = None,
    shrinkage: ArrayLike | None = None,
    bias_correction: bool | None = None,
    bandwidth: float | jax.Array | str | None = None,
    bins: int | None = None,
    adaptive: bool | None = None,
    correction: EntropyCorrection | None = None,
    num_x: int | Sequence[int] | None = None,
    num_y: int | Sequence[int] | None = None,
    seed: int | None = None,
) -> Estimate:
    r"""Shannon mutual information ``I(X; Y)`` of paired samples, by the estimator ``method`` names.

    One call for the estimators of Shannon MI, like scikit-learn's ``mutual_info_*``: each
    method is exactly the direct call of one public function with the options you pass
    (``None`` everywhere means that function's default). ``"auto"`` picks from the dtypes and
    the total dimension ``d_x + d_y`` only, never from the values, so it picks the same
    method under ``jit`` and for every member of a ``vmap``:

    ============================  ==========================================================
    inputs                        ``method="auto"`` runs
    ============================  ==========================================================
    integer ``x`` and ``y``       ``"discrete"``
    float, ``d_x + d_y <= 4``     ``"ksg"``
    float, ``d_x + d_y > 4``      ``"copula"``
    float and integer (mixed)     ``"ross"`` (the integer side is the class labels)
    ============================  ==========================================================

    The measurements behind it (bias and MAE on the accuracy suite at n = 500 and 5000,
    float32 and float64) are in docs/choosing.md.

    The methods:

    - ``"ksg"``: :func:`ksg_mutual_information` (``k``, ``block_size``). No gradient.
    - ``"gaussian"``: :func:`gaussian_mutual_information` (``shrinkage``,
      ``bias_correction``): exact for jointly Gaussian data, otherwise the MI of the
      Gaussian with the same covariance.
    - ``"copula"``: :func:`gaussian_copula_mutual_information` (same options): Gaussian MI
      of the normal scores; invariant to monotone maps of each column.
    - ``"kde"``: ``H(X) + H(Y) - H(X, Y)`` with three :func:`kde_entropy` calls
      (``bandwidth``, ``block_size``; each entropy takes its own rule bandwidth by default).
      Consistent, but the three biases do not cancel: it underestimates large MI.
    - ``"binned"``: :func:`binned_mutual_information` (``bins``, ``adaptive``,
      ``correction``); ``bins**(d_x + d_y)`` cells must fit an int32 code.
    - ``"discrete"``: :func:`discrete_mutual_information` of integer labels (``num_x``,
      ``num_y``, ``correction``). Outside a transformation ``num_x`` / ``num_y`` default to
      the largest valid label + 1 (per column); under ``jit``/``vmap`` pass them.
    - ``"ross"``: :func:`ross_mutual_information` (``k``, ``block_size``) of float samples
      and integer labels ``[n]``, in either order (scikit-learn's ``mutual_info_classif``).
    - ``"mixed_ksg"``: :func:`mixed_ksg_mutual_information` (``k``, ``block_size``): each
      side may mix discrete and continuous values; integer inputs are taken as float
      columns.
    - ``"neural"``: ``jaxinfo.nn.estimate_mutual_information`` with its defaults and
      ``seed`` (the rest of its options: call it directly). It trains a network in a host
      loop: not usable under ``jit``/``vmap``/``grad``, and slow (seconds to minutes).

    The neighbour-search route of KSG and the bound of the neural method (each called
    ``method`` in its own function) are not reachable here: call those functions directly.

    Args:
      x: samples ``[n, d_x]`` (integer labels ``[n]`` or ``[n, c]`` for ``"discrete"``,
        ``[n]`` for ``"ross"``).
      y: samples ``[n, d_y]`` paired with ``x``.
      method: one of ``"auto"``, ``"ksg"``, ``"gaussian"``, ``"copula"``, ``"kde"``,
        ``"binned"``, ``"discrete"``, ``"neural"``, ``"ross"``, ``"mixed_ksg"`` (static).
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows (every method but ``"neural"``).
      axis_name: mesh axis of the rows inside ``shard_map`` (every method but ``"neural"``).
      k: neighbour order of ``"ksg"``, ``"ross"`` and ``"mixed_ksg"``.
      block_size: query rows per block of ``"ksg"``, ``"kde"``, ``"ross"`` and
        ``"mixed_ksg"``.
      shrinkage: covariance shrinkage of ``"gaussian"`` and ``"copula"``.
      bias_correction: the Wishart bias correction of ``"gaussian"`` and ``"copula"``.
      bandwidth: the KDE bandwidth (a number or a rule name) of ``"kde"``.
      bins: bins per column of ``"binned"``.
      adaptive: equal-mass bins of ``"binned"``.
      correction: ``"miller_madow"``, ``"grassberger"`` or ``"chao_shen"`` for ``"binned"``
        and ``"discrete"``.
      num_x: alphabet size of ``x`` for ``"discrete"``.
      num_y: alphabet size of ``y`` for ``"discrete"``.
      seed: the training seed of ``"neural"``.

    Returns:
      An :class:`Estimate`: ``.value`` (scalar, unclipped) and ``.method`` (what ran).

    Raises:
      ValueError: an unknown ``method``; an option that the chosen method does not read
        (the error names it and the method); whatever the chosen function raises.
      TypeError: ``method="neural"`` under a transformation; ``method="ross"`` without
        one integer and one float input.

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.correlated_gaussians(1, 1, correlation=0.8)
      >>> x, y = task.sample(jax.random.key(0), 2000)
      >>> mi = jaxinfo.mutual_information(x, y)
      >>> print(mi.method, f"{mi.value:.2f}", f"{task.mutual_information:.2f}")
      ksg 0.53 0.51
    """
    arrays = (validation.as_array(x, "x"), validation.as_array(y, "y"))
    chosen, described = _chosen(
        method, MUTUAL_INFORMATION_METHODS, MUTUAL_INFORMATION_RULE, arrays, ("x", "y")
    )
    passed = dict(
        where=where,
        axis_name=axis_name,
        k=k,
        block_size=block_size,
        shrinkage=shrinkage,
        bias_correction=bias_correction,
        bandwidth=bandwidth,
        bins=bins,
        adaptive=adaptive,
        correction=correction,
        num_x=num_x,
        num_y=num_y,
        seed=seed,
    )
    options = checked_options(chosen, described, MUTUAL_INFORMATION_OPTIONS, passed)
    if chosen == "discrete":
        for name, labels, option in (("x", arrays[0], "num_x"), ("y", arrays[1], "num_y")):
            if option not in options:
                options[option] = _alphabet(labels, name, where, option)
    value = _MUTUAL_INFORMATION[chosen](arrays[0], arrays[1], base=base, **options)
    return Estimate(value=value, method=chosen)


def entropy(
    x: ArrayLike,
    *,
    method: EntropyMethod = "auto",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    k: int | None = None,
    block_size: int | None = None,
    shrinkage: ArrayLike | None = None,
    bias_correction: bool | None = None,
    bandwidth: float | jax.Array | str | None = None,
    num_classes: int | Sequence[int] | None = None,
) -> Estimate:
    r"""Shannon entropy of samples (differential for floats, discrete for integer labels).

    The entropy counterpart of :func:`mutual_information`: each method is the direct call of
    one public function with the options you pass. ``"auto"`` picks from the dtype and the
    dimension only:

    ============================  ==========================================================
    inputs                        ``method="auto"`` runs
    ============================  ==========================================================
    integer ``x``                 ``"miller_madow"``
    float, ``d <= 5``             ``"knn"``
    float, ``d > 5``              ``"gaussian"``
    ============================  ==========================================================

    Methods: ``"knn"`` (:func:`knn_entropy`: ``k``, ``block_size``), ``"gaussian"``
    (:func:`gaussian_entropy`: ``shrinkage``, ``bias_correction``; exact for Gaussians, an
    upper bound otherwise, since the Gaussian has the largest entropy for a covariance),
    ``"kde"`` (:func:`kde_entropy`: ``bandwidth``, ``block_size``), ``"plugin"`` and
    ``"miller_madow"`` (:func:`plugin_entropy`, :func:`miller_madow_entropy` of integer
    labels: ``num_classes``, by default the largest valid label + 1 outside a
    transformation), and for small samples of large alphabets ``"grassberger"`` and
    ``"chao_shen"`` (:func:`grassberger_entropy`, :func:`chao_shen_entropy`, the same option).

    Args:
      x: samples ``[n, d]``, or integer labels ``[n]`` / ``[n, c]``.
      method: one of ``"auto"``, ``"knn"``, ``"gaussian"``, ``"kde"``, ``"plugin"``,
        ``"miller_madow"``, ``"grassberger"``, ``"chao_shen"`` (static).
      base: logarithm base; default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      k: neighbour order of ``"knn"``.
      block_size: query rows per block of ``"knn"`` and ``"kde"``.
      shrinkage: covariance shrinkage of ``"gaussian"``.
      bias_correction: the Wishart bias correction of ``"gaussian"``.
      bandwidth: the bandwidth (a number or a rule name) of ``"kde"``.
      num_classes: alphabet size for the four label methods.

    Returns:
      An :class:`Estimate`: ``.value`` (scalar) and ``.method`` (what ran).

    Raises:
      ValueError: an unknown ``method``, an option the chosen method does not read, or
        whatever the chosen function raises.

    Example:
      >>> import jax, jaxinfo
      >>> x = jax.random.normal(jax.random.key(0), (2000, 1))
      >>> h = jaxinfo.entropy(x)  # truth 0.5 log(2 pi e) = 1.4189
      >>> print(h.method, f"{h.value:.2f}")
      knn 1.43
    """
    array = validation.as_array(x, "x")
    chosen, described = _chosen(method, ENTROPY_METHODS, ENTROPY_RULE, (array,), ("x",))
    passed = dict(
        where=where,
        axis_name=axis_name,
        k=k,
        block_size=block_size,
        shrinkage=shrinkage,
        bias_correction=bias_correction,
        bandwidth=bandwidth,
        num_classes=num_classes,
    )
    options = checked_options(chosen, described, ENTROPY_OPTIONS, passed)
    if "num_classes" in ENTROPY_OPTIONS.get(chosen, ()) and "num_classes" not in options:
        options["num_classes"] = _alphabet(array, "x", where, "num_classes")
    value = _ENTROPY[chosen](array, base=base, **options)
    return Estimate(value=value, method=chosen)


CONDITIONAL_MUTUAL_INFORMATION_RULE: tuple[Rule, ...] = (
    Rule("float", 4, "ksg"),
    Rule("float", None, "copula"),
)
"""``method="auto"`` of :func:`conditional_mutual_information` (docs/classical.md)."""

CONDITIONAL_MUTUAL_INFORMATION_OPTIONS: dict[str, tuple[str, ...]] = {
    "ksg": ("k", "block_size"),
    "gaussian": ("shrinkage", "bias_correction"),
    "copula": ("shrinkage", "bias_correction"),
    "cauchy_schwarz": ("kernel_x", "kernel_y", "kernel_z", "block_size"),
}
_CONDITIONAL_MUTUAL_INFORMATION: dict[str, Callable[..., jax.Array]] = {
    "ksg": ksg_conditional_mutual_information,
    "gaussian": gaussian_conditional_mutual_information,
    "copula": gaussian_copula_conditional_mutual_information,
    "cauchy_schwarz": cauchy_schwarz_conditional_mutual_information,
}


def conditional_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    *,
    method: ConditionalMutualInformationMethod = "auto",
    base: float | None = None,
    where: ArrayLike | None = None,
    axis_name: str | None = None,
    k: int | None = None,
    block_size: int | None = None,
    shrinkage: ArrayLike | None = None,
    bias_correction: bool | None = None,
    kernel_x: KernelLike | None = None,
    kernel_y: KernelLike | None = None,
    kernel_z: KernelLike | None = None,
) -> Estimate:
    r"""Conditional mutual information ``I(X; Y | Z)`` by the estimator ``method`` names.

    The conditional counterpart of :func:`mutual_information`: each method is the direct call
    of one public function with the options you pass. ``"auto"`` picks from the dtypes and the
    total dimension ``d_x + d_y + d_z`` only (the rule of :func:`mutual_information` for
    float inputs, applied to the joint dimension):

    ================================  ======================================================
    inputs                            ``method="auto"`` runs
    ================================  ======================================================
    float, ``d_x + d_y + d_z <= 4``   ``"ksg"``
    float, ``d_x + d_y + d_z > 4``    ``"copula"``
    ================================  ======================================================

    The methods:

    - ``"ksg"``: :func:`ksg_conditional_mutual_information` (Frenzel–Pompe; ``k``,
      ``block_size``). No gradient.
    - ``"gaussian"``: :func:`gaussian_conditional_mutual_information` (``shrinkage``,
      ``bias_correction``): exact for jointly Gaussian data. Differentiable.
    - ``"copula"``: :func:`gaussian_copula_conditional_mutual_information` (same options):
      invariant to monotone maps of each column.
    - ``"cauchy_schwarz"``: :func:`cauchy_schwarz_conditional_mutual_information`
      (``kernel_x``, ``kernel_y``, ``kernel_z``, ``block_size``). **A different measure**:
      the Cauchy–Schwarz divergence between ``p(x, y | z)`` and ``p(x | z) p(y | z)``, not
      Shannon's CMI; 0 exactly when they agree, but its values are not in nats of ``I(X; Y |
      Z)``. Differentiable (a training objective).

    Args:
      x: samples ``[n, d_x]``.
      y: samples ``[n, d_y]`` paired with ``x``.
      z: the conditioning samples ``[n, d_z]`` paired with ``x``.
      method: one of ``"auto"``, ``"ksg"``, ``"gaussian"``, ``"copula"``,
        ``"cauchy_schwarz"`` (static).
      base: logarithm base (``2`` for bits); default nats.
      where: boolean ``[n]`` marking valid rows.
      axis_name: mesh axis of the rows inside ``shard_map``.
      k: neighbour order of ``"ksg"``.
      block_size: query rows per block of ``"ksg"`` and ``"cauchy_schwarz"``.
      shrinkage: covariance shrinkage of ``"gaussian"`` and ``"copula"``.
      bias_correction: the Wishart bias correction of ``"gaussian"`` and ``"copula"``.
      kernel_x: the kernel of ``x`` for ``"cauchy_schwarz"``.
      kernel_y: the kernel of ``y`` for ``"cauchy_schwarz"``.
      kernel_z: the kernel of ``z`` for ``"cauchy_schwarz"``.

    Returns:
      An :class:`Estimate`: ``.value`` (scalar, unclipped) and ``.method`` (what ran).

    Raises:
      ValueError: an unknown ``method``; an option that the chosen method does not read
        (the error names it and the method); whatever the chosen function raises.
      TypeError: ``method="auto"`` with integer inputs (no discrete CMI here).

    Example:
      >>> import jax, jaxinfo
      >>> task = jaxinfo.testing.conditional_gaussians(coupling=0.5, confounding=1.0)
      >>> x, y, z = task.sample(jax.random.key(0), 2000)
      >>> cmi = jaxinfo.conditional_mutual_information(x, y, z)
      >>> print(cmi.method, f"{cmi.value:.2f}", f"{task.conditional_mutual_information:.2f}")
      ksg 0.10 0.11
    """
    names = ("x", "y", "z")
    arrays = tuple(validation.as_array(a, n) for a, n in zip((x, y, z), names, strict=True))
    chosen, described = _chosen(
        method,
        CONDITIONAL_MUTUAL_INFORMATION_METHODS,
        CONDITIONAL_MUTUAL_INFORMATION_RULE,
        arrays,
        names,
    )
    passed = dict(
        where=where,
        axis_name=axis_name,
        k=k,
        block_size=block_size,
        shrinkage=shrinkage,
        bias_correction=bias_correction,
        kernel_x=kernel_x,
        kernel_y=kernel_y,
        kernel_z=kernel_z,
    )
    options = checked_options(chosen, described, CONDITIONAL_MUTUAL_INFORMATION_OPTIONS, passed)
    value = _CONDITIONAL_MUTUAL_INFORMATION[chosen](*arrays, base=base, **options)
    return Estimate(value=value, method=chosen)
