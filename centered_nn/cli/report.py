"""What ``centered-nn compare`` writes: the table, the JSON document and the figure.

Pure formatting: the values come from :mod:`centered_nn.cli`.
"""

import io
import json
import textwrap

import numpy as np


def columns(task):
    """(JSON key, table header, number format) of the table; the first two are text."""
    score = f"cv_{task.scoring}"
    return (
        ("setup", "setup", None), ("activation", "activation", None),
        (f"{score}_mean", task.score_label, ".3f"),
        ("n_iter", "iterations", ".1f"),
        ("final_loss", "final loss", ".4f"),
        ("same_sign_fraction", "same-sign L0", ".3f"),
        ("sample_same_sign_fraction", "sample same-sign L0", ".3f"),
        ("fit_time", "fit time (s)", ".2f"),
    )


def cell(row, key, fmt):
    if fmt is None:
        return row[key]
    std = key.replace("_mean", "_std") if key.endswith("_mean") else None
    text = {k: "nan" if row[k] is None else format(row[k], fmt) for k in (key, std) if k}
    return text[key] + (" ± " + text[std] if std else "")


def format_table(rows, columns):
    """Plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[header for _, header, _ in columns]]
    cells += [[cell(row, key, fmt) for key, _, fmt in columns] for row in rows]
    widths = [max(len(line[c]) for line in cells) for c in range(len(columns))]
    lines = [
        "  ".join(text.ljust(w) if fmt is None else text.rjust(w)
                  for text, w, (_, _, fmt) in zip(line, widths, columns)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def jsonable(value):
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def json_bytes(document):
    """The JSON text of ``document`` (NaN is refused: rows hold None instead), as bytes."""
    return (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()


def plot_bytes(histories, setups, activations, title, fmt):
    """Draw the first-layer same-sign curves, one panel per activation; return the file bytes.

    ``histories`` maps (setup, activation) to a ``gradient_sign_history_``;
    ``fmt`` is a matplotlib format ('png', 'pdf', 'svg'). Each setup has its
    own colour and marker (staggered, so coinciding curves stay visible); the
    legend sits outside the panels.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..plotting import _curve_style

    fig = Figure(figsize=(3.6 * len(activations) + 2.4, 4.2), layout="constrained")
    axes = fig.subplots(1, len(activations), sharey=True, squeeze=False)[0]
    handles = []
    for ax, activation in zip(axes, activations):
        handles = []
        for k, setup in enumerate(setups):
            history = histories[(setup, activation)]
            n_points = history["same_sign_fraction"].shape[0]
            style = _curve_style(k, len(setups), n_points)
            epochs = np.arange(1, n_points + 1)
            handles += ax.plot(epochs, history["same_sign_fraction"][:, 0], label=setup,
                               **style)
            ax.plot(epochs, history["sample_same_sign_fraction"][:, 0],
                    **dict(style, linestyle="--"))
        ax.set(title=f"activation={activation}", xlabel="iteration (epoch)", ylim=(-0.04, 1.04))
    axes[0].set_ylabel("first-layer same-sign fraction")
    handles += [Line2D([], [], color="k", label="minibatch (solid)"),
                Line2D([], [], color="k", linestyle="--", label="per sample (dashed)")]
    axes[-1].legend(handles=handles, title="setup / gradient", loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    # the title holds user text (a CSV file name): '$' is not mathtext there
    fig.suptitle(textwrap.fill(title, width=int(10 * fig.get_figwidth())), parse_math=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100)
    return buffer.getvalue()
