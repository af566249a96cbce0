"""The host sort (CPU) and XLA's sort give the same orders and sorted values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxinfo._src import sorting


@pytest.fixture(params=["host", "xla"])
def route(request, monkeypatch):
    monkeypatch.setattr(sorting, "_on_host", lambda: request.param == "host")
    monkeypatch.setattr(sorting, "HOST_SORT_MIN_ROWS", 1)  # the test data is small
    return request.param


def _data():
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=(40, 3)), 1).astype(np.float32)  # many ties
    values[3, 1] = np.nan
    values[7, 2] = -np.inf
    labels = rng.integers(-2, 3, 40).astype(np.int32)
    return values, labels


def test_sort_columns_equals_numpy_under_jit_and_vmap(route):
    values, _ = _data()
    expected = np.sort(values, axis=0)  # NaN last
    np.testing.assert_array_equal(jax.jit(sorting.sort_columns)(jnp.asarray(values)), expected)
    batch = jnp.stack([jnp.asarray(values), -jnp.asarray(values)])
    got = jax.vmap(sorting.sort_columns)(batch)
    np.testing.assert_array_equal(got, np.sort(np.asarray(batch), axis=1))


def test_sorting_order_is_the_stable_lexicographic_order(route):
    values, labels = _data()
    column = jnp.asarray(values[:, 0])
    one = jax.jit(lambda v: sorting.sorting_order((v,)))(column)
    np.testing.assert_array_equal(one, np.argsort(values[:, 0], kind="stable"))
    two = jax.jit(lambda a, b: sorting.sorting_order((a, b)))(jnp.asarray(labels), column)
    np.testing.assert_array_equal(two, np.lexsort((values[:, 0], labels)))
    # vmap with one batched and one shared key
    batched = jax.vmap(lambda v: sorting.sorting_order((jnp.asarray(labels), v)))(
        jnp.stack([column, -column])
    )
    for b, v in enumerate([values[:, 0], -values[:, 0]]):
        np.testing.assert_array_equal(batched[b], np.lexsort((v, labels)))


def test_keys_carry_no_gradient(route):
    values, _ = _data()
    finite = jnp.asarray(np.nan_to_num(values, neginf=0.0))

    def total(v):
        return jnp.sum(sorting.sort_columns(v) * 0.0 + v)

    np.testing.assert_array_equal(jax.grad(total)(finite), np.ones_like(values))
