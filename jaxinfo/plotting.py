"""Plots of information-theoretic training curves (matplotlib, imported lazily).

Information-bottleneck experiments report the *information plane*: one point
``(I(X; T), I(T; Y))`` per epoch for the representation ``T``, a trajectory per run. Drawing
it well takes the same steps every time (a line per run, the epochs as a colour scale shared by
all runs, axis labels that name the estimator, since estimators of ``I(X; T)`` disagree by
orders of magnitude), so this module does it once. matplotlib is an optional dependency
(``pip install matplotlib`` or the ``examples`` extra): it is imported when a function is
called, never at ``import jaxinfo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_information_plane"]


def _validated_curves(curves: Mapping[str, npt.ArrayLike]) -> dict[str, np.ndarray]:
    """The curves as float64 ``[epochs, 2]`` arrays, or a ``ValueError`` naming the fault."""
    if not isinstance(curves, Mapping):
        raise TypeError(
            "`curves` must be a mapping {run name: array [epochs, 2]}; got "
            f"{type(curves).__name__}. Wrap a single run as {{'run': points}}."
        )
    if not curves:
        raise ValueError("`curves` is empty: pass at least one run {name: array [epochs, 2]}.")
    checked = {}
    for name, points in curves.items():
        try:
            array = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"curves[{name!r}] must be numeric [epochs, 2] points; could not convert it "
                f"to floats ({error})."
            ) from error
        if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 1:
            raise ValueError(
                f"curves[{name!r}] must have shape [epochs, 2] (columns I(X;T), I(T;Y)) with "
                f"at least one epoch; got shape {array.shape}. Stack the per-epoch pairs with "
                "np.stack([ixt, ity], axis=1)."
            )
        if not np.all(np.isfinite(array)):
            bad = np.flatnonzero(~np.all(np.isfinite(array), axis=1))
            raise ValueError(
                f"curves[{name!r}] must be finite; rows {bad[:5].tolist()} hold NaN or inf "
                "(a diverged run or a failed estimate). Drop or fix those epochs first."
            )
        checked[str(name)] = array
    return checked


def plot_information_plane(
    curves: Mapping[str, npt.ArrayLike],
    *,
    x_label: str,
    y_label: str,
    ax: Axes | None = None,
    title: str | None = None,
    colormap: str = "viridis",
) -> Axes:
    """Draw information-plane trajectories: per run, one ``(I(X;T), I(T;Y))`` point per epoch.

    Each run is a line (its colour from the axes' colour cycle, its name in the legend) through
    markers coloured by epoch; row ``i`` of a run is epoch ``i``, and the colour scale, shown
    in a colour bar labelled "epoch", is shared by all runs of the call. The run's last point
    is drawn larger. ``ax.lines[i]`` and ``ax.collections[i]`` hold the line and the markers of
    the ``i``-th run, in the mapping's order.

    Args:
      curves: ``{run name: points}`` with ``points`` of shape ``[epochs, 2]``: column 0 is
        ``I(X; T)``, column 1 ``I(T; Y)``, both finite.
      x_label: x-axis label; name the estimator and the unit, e.g.
        ``"I(X;T) [matrix Rényi α=1.01, bits]"`` (estimators of ``I(X; T)`` are not
        comparable with each other).
      y_label: y-axis label, e.g. ``"I(T;Y) [matrix Rényi α=1.01, bits]"``.
      ax: matplotlib axes to draw into; ``None`` creates a new figure.
      title: axes title; ``None`` leaves it unset.
      colormap: name of the matplotlib colormap of the epochs.

    Returns:
      The matplotlib ``Axes`` drawn into.

    Raises:
      ImportError: matplotlib is not installed.
      TypeError: ``curves`` is not a mapping.
      ValueError: ``curves`` is empty, or a run is not a finite ``[epochs, 2]`` array.

    Example:
      >>> import matplotlib
      >>> matplotlib.use("Agg")
      >>> import numpy as np
      >>> from jaxinfo.plotting import plot_information_plane
      >>> curves = {
      ...     "beta=0": np.array([[1.0, 0.5], [2.0, 1.5], [2.5, 2.0]]),
      ...     "beta=0.1": np.array([[1.0, 0.5], [1.5, 1.4], [1.2, 1.9]]),
      ... }
      >>> ax = plot_information_plane(
      ...     curves, x_label="I(X;T) [bits]", y_label="I(T;Y) [bits]", title="demo")
      >>> ax.get_xlabel(), [line.get_label() for line in ax.lines]
      ('I(X;T) [bits]', ['beta=0', 'beta=0.1'])
      >>> ax.lines[1].get_xydata().tolist()
      [[1.0, 0.5], [1.5, 1.4], [1.2, 1.9]]
      >>> import matplotlib.pyplot as plt
      >>> plt.close(ax.figure)
    """
    runs = _validated_curves(curves)
    try:
        import matplotlib.pyplot as plt
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.ticker import MaxNLocator
    except ImportError as error:
        raise ImportError(
            "plot_information_plane needs matplotlib: `pip install matplotlib` (or "
            "`pip install 'jaxinfo[examples]'`)."
        ) from error

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.5))
    last_epoch = max(points.shape[0] for points in runs.values()) - 1
    norm = Normalize(vmin=0.0, vmax=float(max(last_epoch, 1)))
    cmap = plt.get_cmap(colormap)
    for name, points in runs.items():
        epochs = np.arange(points.shape[0])
        (line,) = ax.plot(points[:, 0], points[:, 1], "-", linewidth=1.2, alpha=0.8, label=name)
        sizes = np.full(points.shape[0], 18.0)
        sizes[-1] = 60.0
        ax.scatter(
            points[:, 0],
            points[:, 1],
            c=epochs,
            cmap=cmap,
            norm=norm,
            s=sizes,
            edgecolors=line.get_color(),
            linewidths=0.8,
            zorder=line.get_zorder() + 1,
        )
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small", title="run", title_fontsize="small")
    colorbar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax)
    colorbar.set_label("epoch")
    colorbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return ax
