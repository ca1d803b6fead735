"""A study's figures as GridSearchCV's ``cv_results_`` and as a tidy frame."""

from numbers import Real

import numpy as np
from scipy.stats import rankdata


def _param_arrays(params):
    """``param_<name>`` masked arrays, one entry per candidate, masked where unset."""
    names = list(dict.fromkeys(name for candidate in params for name in candidate))
    arrays = {}
    for name in names:
        values = {i: candidate[name] for i, candidate in enumerate(params) if name in candidate}
        numeric = all(isinstance(v, Real) and not isinstance(v, bool) for v in values.values())
        array = np.ma.MaskedArray(np.empty(len(params), dtype=float if numeric else object),
                                  mask=True)
        for i, value in values.items():
            array[i] = value
        arrays[f"param_{name}"] = array
    return arrays


def _rank(means):
    """Rank 1 for the highest mean, NaN means last (GridSearchCV's rule)."""
    if np.isnan(means).all():
        return np.ones(means.size, dtype=np.int32)
    means = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-means, method="min").astype(np.int32)


def cv_results(study):
    """``study.cv_results_``: one entry per (setup, rate) candidate, setup-major."""
    n_setups, n_rates, n_runs = study.figures["test_score"].shape
    params = [{**study.setups[name], study.rate_param: float(rate)}
              for name in study.setups for rate in study.learning_rates]
    results = {"setup": np.repeat(np.array(list(study.setups), dtype=object), n_rates),
               **_param_arrays(params), "params": params}
    for name, values in study.figures.items():
        flat = values.reshape(n_setups * n_rates, n_runs)
        if values.dtype == bool:
            results[f"n_{name}"] = flat.sum(axis=1)
            continue
        for k in range(n_runs):
            results[f"split{k}_{name}"] = flat[:, k]
        results[f"mean_{name}"] = flat.mean(axis=1)
        results[f"std_{name}"] = flat.std(axis=1)
        if name == "test_score":
            results["rank_test_score"] = _rank(results["mean_test_score"])
    for k in range(n_runs):
        results[f"split{k}_target_loss"] = np.full(n_setups * n_rates, study.target_loss[k])
    return results


def study_frame(study):
    """The per-fit figures as a tidy DataFrame (see :meth:`CenteringStudy.to_frame`)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError('CenteringStudy.to_frame requires pandas, an optional dependency '
                          'of centered_nn. Install it with: pip install '
                          '"centered_nn[pandas]"') from exc
    shape = study.figures["test_score"].shape
    index = np.indices(shape).reshape(3, -1)
    run = index[2]
    columns = {"setup": np.array(list(study.setups), dtype=object)[index[0]],
               "learning_rate": study.learning_rates[index[1]],
               "repeat": run // study.n_splits, "fold": run % study.n_splits, "run": run,
               "target_loss": study.target_loss[run]}
    columns.update({name: values.ravel() for name, values in study.figures.items()})
    return pd.DataFrame(columns)
