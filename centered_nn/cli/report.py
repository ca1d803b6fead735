"""What ``centered-nn compare`` writes to files: the JSON document and the figure.

Pure formatting: the values come from :mod:`centered_nn.cli`; the printed table is
:mod:`.table`.
"""

import io
import json
import textwrap

import numpy as np


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


def study_json(study, figures, speedup_rule):
    """A centring study as plain JSON data: its settings and rules, the per-run targets,
    every fit's figures (the registry `figures`: name -> StudyFigure) and its curves.

    ``fits`` lists one object per (setup, learning rate, run), setup-major (a run is
    ``repeat * n_splits + fold``): its figures, and its per-epoch ``curves``.
    """
    fits = []
    for s, setup in enumerate(study.setups):
        for r, rate in enumerate(study.learning_rates):
            for k in range(study.n_runs):
                fit = {"setup": setup, "learning_rate": float(rate), "run": k,
                       "repeat": k // study.n_splits, "fold": k % study.n_splits}
                for name, values in study.figures.items():
                    value = values[s, r, k]
                    fit[name] = bool(value) if values.dtype == bool else _finite([value])[0]
                # the per-epoch curves apart: two share a name with a per-fit figure
                fit["curves"] = {name: None if study.curves[name][s][r][k] is None
                                 else _finite(study.curves[name][s][r][k])
                                 for name in JSON_CURVES}
                fits.append(fit)
    return {"reference": study.reference, "n_repeats": study.n_repeats,
            "n_splits": study.n_splits, "seeds": [int(seed) for seed in study.seeds],
            "target_loss": _finite(study.target_loss), "target_rule": study.target_rule,
            "speedup_rule": speedup_rule, "reference_loss": _finite(study.reference_loss),
            "max_iter": study.max_iter,
            "figures": {name: figure.description for name, figure in figures.items()},
            "fits": fits}


def plot_bytes(studies, title, fmt):
    """Draw each activation's study (CenteringStudyDisplay, one row each); return the bytes.

    ``studies`` maps an activation to its CenteringStudy; ``fmt`` is a matplotlib
    format ('png', 'pdf', 'svg').
    """
    from matplotlib.figure import Figure

    from ..model_selection import CenteringStudyDisplay

    fig = Figure(figsize=(20, 4.6 * len(studies)), layout="constrained")
    rows = fig.subfigures(len(studies), 1, squeeze=False)[:, 0]
    for subfigure, (activation, study) in zip(rows, studies.items()):
        CenteringStudyDisplay.from_study(study, figure=subfigure)
        subfigure.suptitle(f"activation={activation}", fontsize="medium")
    # parse_math=False: a '$' in a CSV's name is text, not mathtext
    fig.suptitle(textwrap.fill(title, width=int(10 * fig.get_figwidth())), parse_math=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=80)
    return buffer.getvalue()
