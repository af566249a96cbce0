"""jaxinfo.plotting: the information plane draws exactly the data given, and refuses bad input."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from jaxinfo.plotting import plot_information_plane  # noqa: E402

X_LABEL = "I(X;T) [matrix Rényi α=1.01, bits]"
Y_LABEL = "I(T;Y) [matrix Rényi α=1.01, bits]"


@pytest.fixture
def curves():
    rng = np.random.default_rng(0)
    return {
        "beta=0": rng.uniform(0, 3, size=(5, 2)),
        "beta=0.01": rng.uniform(0, 3, size=(5, 2)),
        "beta=0.1": rng.uniform(0, 3, size=(3, 2)),  # runs may have different lengths
    }


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_lines_and_markers_are_the_data(curves):
    ax = plot_information_plane(curves, x_label=X_LABEL, y_label=Y_LABEL)
    assert len(ax.lines) == len(curves) and len(ax.collections) == len(curves)
    for i, (name, points) in enumerate(curves.items()):
        np.testing.assert_allclose(np.asarray(ax.lines[i].get_xydata()), points)
        np.testing.assert_allclose(np.asarray(ax.collections[i].get_offsets()), points)
        assert ax.lines[i].get_label() == name
        # The markers are coloured by epoch: row i carries the value i on the shared scale.
        np.testing.assert_array_equal(ax.collections[i].get_array(), np.arange(len(points)))
        assert ax.collections[i].norm.vmin == 0 and ax.collections[i].norm.vmax == 4


def test_labels_legend_title_and_colorbar(curves):
    ax = plot_information_plane(curves, x_label=X_LABEL, y_label=Y_LABEL, title="VIB")
    assert ax.get_xlabel() == X_LABEL and ax.get_ylabel() == Y_LABEL
    assert ax.get_title() == "VIB"
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == list(curves)
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert len(colorbar_axes) == 1 and colorbar_axes[0].get_ylabel() == "epoch"


def test_draws_into_given_axes_and_accepts_lists():
    fig, axes = plt.subplots(1, 2)
    out = plot_information_plane(
        {"run": [[0.0, 1.0], [1.0, 2.0]]}, x_label="x", y_label="y", ax=axes[1], colormap="magma"
    )
    assert out is axes[1]
    assert len(axes[0].lines) == 0
    np.testing.assert_allclose(np.asarray(out.lines[0].get_xydata()), [[0.0, 1.0], [1.0, 2.0]])
    assert out.collections[0].get_cmap().name == "magma"
    assert out.get_title() == ""


def test_single_epoch_run_is_drawn():
    ax = plot_information_plane({"one": np.array([[0.5, 0.25]])}, x_label="x", y_label="y")
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_offsets()), [[0.5, 0.25]])


@pytest.mark.parametrize(
    ("curves", "match"),
    [
        ({}, "empty"),
        ({"run": np.zeros((4, 3))}, r"shape \[epochs, 2\].*\(4, 3\)"),
        ({"run": np.zeros(4)}, r"shape \[epochs, 2\]"),
        ({"run": np.zeros((2, 2, 2))}, r"shape \[epochs, 2\]"),
        ({"run": np.zeros((0, 2))}, "at least one epoch"),
        ({"run": np.array([[0.0, 1.0], [np.nan, 1.0]])}, r"finite; rows \[1\]"),
        ({"ok": np.zeros((2, 2)), "bad": np.array([[np.inf, 0.0]])}, "'bad'.*finite"),
        ({"run": [["a", "b"]]}, "numeric"),
    ],
)
def test_bad_curves_raise_value_error(curves, match):
    with pytest.raises(ValueError, match=match):
        plot_information_plane(curves, x_label="x", y_label="y")


def test_not_a_mapping_raises_type_error():
    with pytest.raises(TypeError, match="mapping"):
        plot_information_plane([np.zeros((2, 2))], x_label="x", y_label="y")  # type: ignore[arg-type]


def test_missing_matplotlib_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_information_plane({"run": np.zeros((2, 2))}, x_label="x", y_label="y")
