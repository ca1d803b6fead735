"""What ``centered-nn compare`` writes: the table, the JSON document and the figure.

Pure formatting: the values come from :mod:`centered_nn.cli`.
"""

import io
import json
import textwrap

import numpy as np


def columns(task):
    """(JSON key, table header, format) of the table; format None is text, 'rate' a rate
    or '-', 'rates' a list of rates or '-', else a number format (``_mean`` keys add ± std)."""
    score = f"cv_{task.scoring}"
    return (
        ("setup", "setup", None), ("activation", "activation", None),
        ("best_rate", "best lr", "rate"),
        (f"{score}_mean", task.score_label, ".3f"),
        ("epochs_to_target_mean", "epochs to target", ".1f"),
        ("vs_raw", "vs raw", None),
        ("mean_relative_loss", "rel. loss", ".3f"),
        ("highest_trainable_rate", "trains up to", "rate"),
        ("diverged_rates", "diverged at", "rates"),
        ("same_sign_fraction", "same-sign L0", ".3f"),
        ("sample_same_sign_fraction", "sample same-sign L0", ".3f"),
        ("fit_time", "fit time (s)", ".2f"),
    )


def cell(row, key, fmt):
    """The text of one table cell ('-' for a missing value)."""
    value = row[key]
    if fmt is None:
        return str(value)
    if fmt == "rate":
        return "-" if value is None else format(value, "g")
    if fmt == "rates":
        return ",".join(format(v, "g") for v in value) if value else "-"
    if value is None:
        return "-"
    text = format(value, fmt)
    std = key[: -len("_mean")] + "_std" if key.endswith("_mean") else None
    if std in row and row[std] is not None:
        text += " ± " + format(row[std], fmt)
    return text


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


def _finite(values):
    """A list of floats with None for NaN (JSON has no NaN)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, float).ravel()]


#: the per-epoch curves the JSON holds (the full sign histories stay out: too large)
JSON_CURVES = ("loss_curve", "validation_loss_curve", "same_sign_fraction",
               "sample_same_sign_fraction")


def study_json(study):
    """A centring study as plain JSON data: targets, every fit's figures, and its curves.

    ``fits`` lists one object per (setup, learning rate, fold), setup-major.
    """
    fits = []
    for s, setup in enumerate(study.setups):
        for r, rate in enumerate(study.learning_rates):
            for k in range(study.n_splits):
                fit = {"setup": setup, "learning_rate": float(rate), "fold": k}
                for name, values in study.figures.items():
                    value = values[s, r, k]
                    fit[name] = bool(value) if values.dtype == bool else _finite([value])[0]
                for name in JSON_CURVES:
                    curve = study.curves[name][s][r][k]
                    fit[name] = None if curve is None else _finite(curve)
                fits.append(fit)
    return {"target_loss": _finite(study.target_loss), "target_rule": study.target_rule,
            "reference_loss": _finite(study.reference_loss), "max_iter": study.max_iter,
            "fits": fits}


def plot_bytes(studies, title, fmt):
    """Draw each activation's study (CenteringStudyDisplay, one row each); return the bytes.

    ``studies`` maps an activation to its CenteringStudy; ``fmt`` is a matplotlib
    format ('png', 'pdf', 'svg').
    """
    from matplotlib.figure import Figure

    from ..model_selection import CenteringStudyDisplay

    fig = Figure(figsize=(17, 4.6 * len(studies)), layout="constrained")
    rows = fig.subfigures(len(studies), 1, squeeze=False)[:, 0]
    for subfigure, (activation, study) in zip(rows, studies.items()):
        CenteringStudyDisplay.from_study(study, figure=subfigure)
        subfigure.suptitle(f"activation={activation}", fontsize="medium")
    # parse_math=False: a '$' in a CSV's name is text, not mathtext
    fig.suptitle(textwrap.fill(title, width=int(10 * fig.get_figwidth())), parse_math=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=80)
    return buffer.getvalue()
