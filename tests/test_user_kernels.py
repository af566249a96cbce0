"""Kernels and critics written by a user: the extension contracts of issue 23.

The kernels below are defined here, not registered by hand. A kernel that reproduces the
Gaussian by hand must give the built-in Gaussian's numbers in every kernel family (at one
block and at several, which exercises the log-domain and the fused linear-domain routes);
a genuinely new kernel (Cauchy) must match a NumPy evaluation of each estimator's formula.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

import jaxinfo
import jaxinfo.nn
from jaxinfo import kernels

N = 24
WIDTH = 0.8


def _sq(x, y):
    return jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)


class GaussianByHand(kernels.Kernel):
    """Only the two abstract methods: the matrix family and the log-domain CS route."""

    def __init__(self, width, label="by-hand"):
        self.width = width  # a float: a pytree child
        self.label = label  # a string: static metadata

    def gram(self, x, y=None):
        y = x if y is None else y
        return jnp.exp(-_sq(x, y) / (2.0 * self.width**2))

    def diagonal(self, x):
        return jnp.ones(x.shape[0], x.dtype)


class GaussianProfile(kernels.DistanceKernel):
    """A distance kernel: bandwidth rules and the fused linear-domain route come with it."""

    def log_kernel(self, squared_distance, bandwidth):
        return -squared_distance / (2.0 * bandwidth * bandwidth)


class Cauchy(kernels.DistanceKernel):
    """``k = 1 / (1 + |a - b|^2 / sigma^2)``: positive definite, bounded by one."""

    def log_kernel(self, squared_distance, bandwidth):
        return -jnp.log1p(squared_distance / (bandwidth * bandwidth))


@dataclasses.dataclass(frozen=True)
class CauchyByHand(kernels.Kernel):
    """A frozen dataclass with a static integer: the generic route for the Cauchy kernel."""

    width: float
    power: int = 1

    def gram(self, x, y=None):
        y = x if y is None else y
        return (1.0 + _sq(x, y) / self.width**2) ** -self.power

    def diagonal(self, x):
        return jnp.ones(x.shape[0], x.dtype)


def _data(dtype=jnp.float64):
    keys = jax.random.split(jax.random.key(3), 3)
    latent = jax.random.normal(keys[0], (N, 1), dtype)
    x = jnp.tanh(latent) + 0.5 * jax.random.normal(keys[1], (N, 2), dtype)
    y = latent + 0.3 * jax.random.normal(keys[2], (N, 2), dtype)
    return x, y, latent


# Every public function that takes kernels, called with one kernel for every variable.
FAMILIES = {
    "matrix_renyi_entropy[a=1.5]": lambda k, bs, x, y, z: jaxinfo.matrix_renyi_entropy(
        x, alpha=1.5, kernel=k, block_size=bs
    ),
    "matrix_renyi_entropy[a=2]": lambda k, bs, x, y, z: jaxinfo.matrix_renyi_entropy(
        x, alpha=2.0, kernel=k, block_size=bs
    ),
    # von Neumann, Vendi and the matrix IB have no blocked route: block_size is not passed.
    "von_neumann_entropy": lambda k, bs, x, y, z: jaxinfo.von_neumann_entropy(x, kernel=k),
    "vendi_score": lambda k, bs, x, y, z: jaxinfo.vendi_score(x, kernel=k),
    "matrix_joint_entropy": lambda k, bs, x, y, z: jaxinfo.matrix_joint_entropy(
        x, y, kernels=k, block_size=bs
    ),
    "matrix_mutual_information": lambda k, bs, x, y, z: jaxinfo.matrix_mutual_information(
        x, y, kernel_x=k, kernel_y=k, block_size=bs
    ),
    "matrix_conditional_entropy": lambda k, bs, x, y, z: jaxinfo.matrix_conditional_entropy(
        x, y, kernel_x=k, kernel_y=k, block_size=bs
    ),
    "matrix_total_correlation": lambda k, bs, x, y, z: jaxinfo.matrix_total_correlation(
        x, y, z, kernels=k, block_size=bs
    ),
    "matrix_information_bottleneck_loss": lambda k, bs, x, y, z: (
        jaxinfo.matrix_information_bottleneck_loss(
            jnp.concatenate([y, -y], axis=1),
            (z[:, 0] > 0).astype(jnp.int32),
            x,
            y,
            beta=0.1,
            kernel_x=k,
            kernel_t=k,
        )[0]
    ),
    "cauchy_schwarz_divergence": lambda k, bs, x, y, z: jaxinfo.cauchy_schwarz_divergence(
        x, y + 0.5, kernel=k, block_size=bs
    ),
    "cauchy_schwarz_mutual_information": lambda k, bs, x, y, z: (
        jaxinfo.cauchy_schwarz_mutual_information(x, y, kernel_x=k, kernel_y=k, block_size=bs)
    ),
    "cauchy_schwarz_mutual_information[normalized]": lambda k, bs, x, y, z: (
        jaxinfo.cauchy_schwarz_mutual_information(
            x, y, kernel_x=k, kernel_y=k, block_size=bs, normalized=True
        )
    ),
    "conditional_cauchy_schwarz_divergence": lambda k, bs, x, y, z: (
        jaxinfo.conditional_cauchy_schwarz_divergence(
            x, z, y[:, :1], kernel_x=k, kernel_y=k, block_size=bs
        )
    ),
    "conditional_cauchy_schwarz_divergence_two_sample": lambda k, bs, x, y, z: (
        jaxinfo.conditional_cauchy_schwarz_divergence_two_sample(
            x, z, y, z + 0.3, kernel_x=k, kernel_y=k, block_size=bs
        )
    ),
    "cauchy_schwarz_conditional_mutual_information": lambda k, bs, x, y, z: (
        jaxinfo.cauchy_schwarz_conditional_mutual_information(
            x, y, z, kernel_x=k, kernel_y=k, kernel_z=k, block_size=bs
        )
    ),
    "cauchy_schwarz_information_bottleneck_loss": lambda k, bs, x, y, z: (
        jaxinfo.cauchy_schwarz_information_bottleneck_loss(
            x, z[:, 0], y[:, 0], y, beta=0.1, kernel_x=k, kernel_y=k, kernel_t=k, block_size=bs
        )[0]
    ),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_user_kernels_reproduce_the_builtin_gaussian(family, x64):
    """One block and several; a generic kernel (log route) and a distance kernel (fused)."""
    fn = FAMILIES[family]
    x, y, z = _data()
    for block_size in (None, 7):
        expected = fn(kernels.Gaussian(WIDTH), block_size, x, y, z)
        assert np.isfinite(expected)
        for kernel in (GaussianByHand(WIDTH), GaussianProfile(WIDTH)):
            value = fn(kernel, block_size, x, y, z)
            np.testing.assert_allclose(value, expected, rtol=1e-9, err_msg=repr(kernel))


def _renyi_entropy_reference(gram, alpha):
    eigenvalues = np.clip(np.linalg.eigvalsh(gram / np.trace(gram)), 0.0, None)
    return np.log(np.sum(eigenvalues**alpha)) / (1.0 - alpha)


def _cs_divergence_reference(gram_xx, gram_yy, gram_xy):
    return np.log(gram_xx.mean()) + np.log(gram_yy.mean()) - 2.0 * np.log(gram_xy.mean())


def test_a_new_distance_kernel_matches_numpy_definitions(x64):
    x, y, _ = _data()
    y = y + 0.5
    xn, yn = np.asarray(x), np.asarray(y)

    def gram(a, b):
        sq = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return 1.0 / (1.0 + sq / WIDTH**2)

    # The references reproduce the built-in Gaussian first, so they encode the definitions.
    gauss = kernels.Gaussian(WIDTH)
    np.testing.assert_allclose(
        _renyi_entropy_reference(np.asarray(gauss.gram(x)), 1.5),
        jaxinfo.matrix_renyi_entropy(x, alpha=1.5, kernel=gauss),
        rtol=1e-9,
    )
    for block_size in (None, 7):
        np.testing.assert_allclose(
            jaxinfo.matrix_renyi_entropy(x, alpha=1.5, kernel=Cauchy(WIDTH), block_size=block_size),
            _renyi_entropy_reference(gram(xn, xn), 1.5),
            rtol=1e-9,
        )
        for kernel in (Cauchy(WIDTH), CauchyByHand(WIDTH)):
            np.testing.assert_allclose(
                jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernel, block_size=block_size),
                _cs_divergence_reference(gram(xn, xn), gram(yn, yn), gram(xn, yn)),
                rtol=1e-9,
            )


def test_bandwidth_rules_come_with_the_distance_contract(x64):
    x, y, _ = _data()
    pooled = jnp.concatenate([x, y])
    sigma = kernels.bandwidth_from_rule("median", pooled)
    np.testing.assert_allclose(
        jaxinfo.cauchy_schwarz_divergence(x, y, kernel=Cauchy()),
        jaxinfo.cauchy_schwarz_divergence(x, y, kernel=Cauchy(sigma)),
        rtol=1e-12,
    )
    assert Cauchy().bandwidth == "median"
    with pytest.raises(ValueError, match="`bandwidth`"):
        Cauchy(-1.0)


def test_user_kernels_under_jit_vmap_and_grad(x64):
    x, y, _ = _data()

    def divergence(width, a, b, kernel_class):
        return jaxinfo.cauchy_schwarz_divergence(a, b, kernel=kernel_class(width), block_size=7)

    # jit with the kernel itself as an argument (a pytree by construction).
    jitted = jax.jit(lambda k, a: jaxinfo.matrix_renyi_entropy(a, alpha=2.0, kernel=k))
    np.testing.assert_allclose(
        jitted(GaussianByHand(WIDTH), x),
        jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=kernels.Gaussian(WIDTH)),
        rtol=1e-12,
    )
    # grad with respect to the user kernel's own parameter equals the built-in bandwidth's.
    expected = jax.grad(divergence)(WIDTH, x, y, kernels.Gaussian)
    for kernel_class in (GaussianByHand, GaussianProfile):
        np.testing.assert_allclose(
            jax.grad(divergence)(WIDTH, x, y, kernel_class), expected, rtol=1e-8
        )
    kernel_grad = jax.grad(lambda k: jaxinfo.cauchy_schwarz_divergence(x, y, kernel=k))(
        GaussianByHand(WIDTH)
    )
    assert isinstance(kernel_grad, GaussianByHand) and kernel_grad.label == "by-hand"
    np.testing.assert_allclose(kernel_grad.width, expected, rtol=1e-8)
    # vmap over a batch of sample sets.
    batch = jnp.stack([x, 2.0 * x])
    values = jax.vmap(lambda a: divergence(WIDTH, a, y, Cauchy))(batch)
    for value, a in zip(values, batch, strict=True):
        np.testing.assert_allclose(value, divergence(WIDTH, a, y, Cauchy), rtol=1e-10)


@pytest.mark.parametrize("kernel", [GaussianByHand(WIDTH), Cauchy("median")], ids=repr)
def test_user_kernels_under_shard_map(kernel, x64):
    x, y, _ = _data()
    mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Auto,))

    def local(a, b):
        return jnp.stack(
            [
                jaxinfo.cauchy_schwarz_divergence(a, b, kernel=kernel, axis_name="d"),
                jaxinfo.matrix_renyi_entropy(a, alpha=2.0, kernel=kernel, axis_name="d"),
            ]
        )

    sharded = jax.jit(jax.shard_map(local, mesh=mesh, in_specs=(P("d"), P("d")), out_specs=P()))
    expected = jnp.stack(
        [
            jaxinfo.cauchy_schwarz_divergence(x, y, kernel=kernel),
            jaxinfo.matrix_renyi_entropy(x, alpha=2.0, kernel=kernel),
        ]
    )
    np.testing.assert_allclose(sharded(x, y), expected, rtol=1e-10)


def test_kernel_contract_is_enforced():
    class NoDiagonal(kernels.Kernel):
        def gram(self, x, y=None):
            return x @ (x if y is None else y).T

    with pytest.raises(TypeError, match="abstract"):
        NoDiagonal()  # pyright: ignore[reportAbstractUsage]

    class NoProfile(kernels.DistanceKernel):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoProfile(1.0)  # pyright: ignore[reportAbstractUsage]

    leaves, treedef = jax.tree.flatten(GaussianByHand(0.5, label="a"))
    assert leaves == [0.5] and jax.tree.unflatten(treedef, [2.0]).width == 2.0
    assert jax.tree.flatten(CauchyByHand(0.5, power=2))[0] == [0.5]  # the int is static

    bad = GaussianByHand(0.5)
    setattr(bad, "options", ["not", "hashable"])  # noqa: B010 (an attribute the class lacks)
    with pytest.raises(TypeError, match="options.*hashable"):
        jax.tree.flatten(bad)


def test_kernel_names_stand_for_the_default_objects():
    x, _, _ = _data(jnp.float32)
    np.testing.assert_allclose(
        jaxinfo.matrix_renyi_entropy(x, kernel="laplacian"),
        jaxinfo.matrix_renyi_entropy(x, kernel=kernels.Laplacian()),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="`kernel_y` must be a kernel object.*'gaussian'"):
        jaxinfo.cauchy_schwarz_mutual_information(x, x, kernel_y="rbf")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`kernel` must be a jaxinfo kernel"):
        jaxinfo.vendi_score(x, kernel=lambda a, b: a @ b.T)  # type: ignore[arg-type]


class QuadraticByHand(jaxinfo.nn.Critic):
    """``f(x, y) = phi(x)^T W phi(y)`` with ``phi(v) = [1, v, v^2]`` (scalar x and y)."""

    def __init__(self, *, rngs):
        del rngs  # zero initialisation: nothing random
        self.weight = nnx.Param(jnp.zeros((3, 3)))

    def __call__(self, x, y):
        def features(v):
            return jnp.concatenate([jnp.ones_like(v), v, v * v], axis=1)

        return features(x) @ self.weight[...] @ features(y).T


def test_user_critic_trains_to_the_gaussian_mutual_information():
    rho = 0.8
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 1))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(4000, 1))
    truth = -0.5 * np.log(1 - rho**2)
    critic = QuadraticByHand(rngs=nnx.Rngs(0))
    estimate = jaxinfo.nn.estimate_mutual_information(
        x, y, critic=critic, max_steps=1500, evaluate_every=250, progress=False
    )
    # The optimal critic log p(y | x) / p(y) of correlated Gaussians is a quadratic form in
    # (1, x, x^2) and (1, y, y^2), so this family holds it.
    assert abs(estimate.value - truth) < 0.1, (estimate.value, truth)
    assert estimate.critic is critic and float(critic.weight[1, 1]) > 0  # the x y term


def test_critic_contract_is_enforced():
    class NoCall(jaxinfo.nn.Critic):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoCall()  # pyright: ignore[reportAbstractUsage]

    class Transposed(QuadraticByHand):
        def __call__(self, x, y):
            return super().__call__(x, y).T

    x = np.random.default_rng(0).normal(size=(64, 1))
    with pytest.raises(ValueError, match=r"`critic` must map .* \[n, m\]"):
        jaxinfo.nn.estimate_mutual_information(
            x, x, critic=Transposed(rngs=nnx.Rngs(0)), progress=False
        )
