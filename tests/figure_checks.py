"""Checks on drawn matplotlib figures shared by the CLI, plotting and example tests."""

import numpy as np

#: points sampled on every segment of a line, in display space
SAMPLES_PER_SEGMENT = 12


def _drawn_points(line):
    """Display coordinates of a line's vertices and of points along its segments."""
    xy = np.asarray(line.get_xydata(), dtype=float)
    if xy.ndim != 2 or xy.shape[0] == 0:
        return np.empty((0, 2))
    display = line.get_transform().transform(xy)
    display = display[np.isfinite(display).all(axis=1)]
    if line.get_linestyle() in ("None", "", " ") or display.shape[0] < 2:
        return display
    t = np.linspace(0.0, 1.0, SAMPLES_PER_SEGMENT)[:, None, None]
    segments = display[:-1] + t * (display[1:] - display[:-1])
    return np.vstack([display, segments.reshape(-1, 2)])


def _cut_texts(fig, renderer):
    """Titles and labels that stick out of the figure."""
    texts = [fig._suptitle] if fig._suptitle is not None else []
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
    problems = []
    for text in texts:
        if not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if (box.x0 < fig.bbox.x0 - 1 or box.y0 < fig.bbox.y0 - 1
                or box.x1 > fig.bbox.x1 + 1 or box.y1 > fig.bbox.y1 + 1):
            problems.append(f"text {text.get_text()!r} is cut off by the figure's edge")
    return problems


def legend_problems(fig):
    """Describe every legend that covers a drawn data line or leaves the figure.

    Every Line2D of every axes counts as data (points clipped away by their
    axes do not), so a legend placed outside its own axes must not cover a
    neighbouring panel either. Titles and axis labels cut off by the figure's
    edge are reported too. Returns a list of strings, empty when all is well.
    """
    if not hasattr(fig.canvas, "get_renderer"):  # a bare Figure: give it an Agg canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    legends += list(fig.legends)
    problems = _cut_texts(fig, renderer)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        where = legend.get_title().get_text() or legend.get_texts()[0].get_text()
        if (box.x0 < fig.bbox.x0 - 1 or box.y0 < fig.bbox.y0 - 1
                or box.x1 > fig.bbox.x1 + 1 or box.y1 > fig.bbox.y1 + 1):
            problems.append(f"legend {where!r} is cut off by the figure's edge")
        for ax in fig.axes:
            clip = ax.bbox
            for line in ax.get_lines():
                if not line.get_visible():
                    continue
                points = _drawn_points(line)
                visible = ((points[:, 0] >= clip.x0) & (points[:, 0] <= clip.x1)
                           & (points[:, 1] >= clip.y0) & (points[:, 1] <= clip.y1))
                points = points[visible]
                covered = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                           & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
                if covered.any():
                    problems.append(f"legend {where!r} covers {covered.sum()} drawn points "
                                    f"of line {line.get_label()!r} in axes "
                                    f"{ax.get_title()!r}")
    return problems
