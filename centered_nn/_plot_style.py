"""The package's one plot style, shared by :mod:`centered_nn.plotting` and the study's Display.

Curves that coincide stay distinguishable: each has its own colour and
marker, and the markers of curve ``i`` of ``n`` sit at points
``offset_i + k * step`` with a distinct offset per curve (``step >= n``), so
identical curves show every marker side by side instead of one hiding the
other. Legends go outside the axes, where they cover no data. matplotlib is
imported only by the functions that draw.
"""

import numpy as np

LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")
#: roughly how many markers a curve gets
MARKERS_PER_CURVE = 8
#: the marker of a diverged fit
DIVERGED_MARKER = "x"
#: the colour of reference lines (the target loss)
REFERENCE_COLOR = "0.45"


def curve_style(i, n, n_points, markersize=5):
    """Colour, marker and staggered marker positions of curve ``i`` of ``n``."""
    step = max(n, n_points // MARKERS_PER_CURVE, 1)
    offset = (i * step // n) % max(n_points, 1)  # fewer points than curves: share
    return {"color": f"C{i % 10}", "marker": MARKERS[i % len(MARKERS)],
            "markevery": (offset, step), "markersize": markersize}


def legend_outside(ax, **kwargs):
    """Draw the legend of ``ax`` to the right of the axes, where it covers no data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     **kwargs)


def check_matplotlib(caller_name):
    """Raise an ImportError naming the ``plot`` extra if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of "
            'centered_nn. Install it with: pip install "centered_nn[plot]"'
        ) from e


def check_axes(ax, n, what):
    """``ax`` as a flat list of ``n`` Axes, or None; a ValueError says what is expected.

    ``ax`` is None, one Axes (when ``n`` is 1) or an array-like of Axes.
    """
    from matplotlib.axes import Axes

    if ax is None:
        return None
    axes = [ax] if isinstance(ax, Axes) else np.asarray(ax, dtype=object).ravel().tolist()
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        kinds = sorted({type(a).__name__ for a in axes})
        raise ValueError(f"ax must be {'one matplotlib Axes or ' if n == 1 else ''}an "
                         f"array-like of {n} matplotlib Axes, one per {what}; got "
                         f"{len(axes)} object(s) of type {', '.join(kinds) or 'none'}.")
    return axes


def check_kwargs(kwargs, name):
    """A style keyword dict (None is empty); a TypeError names the parameter otherwise."""
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"{name} must be a dict of matplotlib keyword arguments or None; "
                        f"got {type(kwargs).__name__}.")
    return kwargs
