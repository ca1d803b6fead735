"""The three-panel Display of a centring study (matplotlib optional)."""

import numpy as np

_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")


def _style(s, n_setups, n_points):
    """Colour and marker of setup `s`; markers staggered so that equal curves stay visible."""
    step = max(n_setups, n_points // 8, 1)
    return {"color": f"C{s % 10}", "marker": _MARKERS[s % len(_MARKERS)],
            "markevery": ((s * step // n_setups) % max(n_points, 1), step), "markersize": 4}


class CenteringStudyDisplay:
    """Three panels of a :class:`CenteringStudy`.

    1. the training loss per epoch at each setup's fastest rate, every fold
       (log scale), with the validation loss dotted when the MLP records one
       (``validation_loss_curve_``) and the mean target loss as a grey line;
    2. the mean epochs to the target against the learning rate (log scale;
       missing where a fold did not reach it, a cross where a fold diverged),
       with the mean CV score on a twin axis (dashed);
    3. the first weight matrix's sign figure per epoch at the fastest rate,
       every fold.

    Use :meth:`from_study`, or build it and call :meth:`plot`.

    Parameters
    ----------
    study : CenteringStudy
        The study to plot.

    sign_metric : {'sample_same_sign_fraction', 'same_sign_fraction'}, \
default='sample_same_sign_fraction'
        The sign figure of the third panel.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (3,)
        The three panels.

    score_ax_ : matplotlib Axes
        The twin axis of the second panel, holding the CV score.

    lines_ : dict of list of matplotlib Line2D
        ``'loss'``, ``'validation'`` (empty unless the fits have a
        ``validation_loss_curve_``), ``'epochs'``, ``'score'``, ``'sign'``: the
        drawn curves, setup-major (then fold) in the study's order of setups.

    figure_ : matplotlib Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.model_selection import CenteringStudyDisplay, centering_study
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(MinMaxScaler(), MLPClassifier(
    ...     hidden_layer_sizes=(8,), solver="sgd", max_iter=10, random_state=0))
    >>> study = centering_study(pipe, X, y, learning_rates=[0.1, 0.3], cv=2, setups={
    ...     "raw": {}, "mean": {"mlpclassifier__input_bias": "mean"}})
    >>> display = CenteringStudyDisplay.from_study(study)
    >>> [ax.get_xscale() for ax in display.axes_]
    ['linear', 'log', 'linear']
    >>> len(display.lines_["loss"])  # 2 setups x 2 folds
    4
    """

    def __init__(self, study, sign_metric="sample_same_sign_fraction"):
        self.study = study
        self.sign_metric = sign_metric

    @classmethod
    def from_study(cls, study, *, sign_metric="sample_same_sign_fraction", figure=None):
        """Create the display of `study` and plot it.

        Parameters
        ----------
        study : CenteringStudy
            The study to plot.

        sign_metric : str, default='sample_same_sign_fraction'
            The sign figure of the third panel.

        figure : matplotlib Figure, default=None
            An empty figure to draw into; None creates one.

        Returns
        -------
        display : CenteringStudyDisplay
            The display, plotted.
        """
        return cls(study, sign_metric=sign_metric).plot(figure=figure)

    def plot(self, figure=None):
        """Draw the three panels.

        Parameters
        ----------
        figure : matplotlib Figure, default=None
            An empty figure to draw into; None creates one (constrained layout).

        Returns
        -------
        display : CenteringStudyDisplay
            The display, with `axes_`, `lines_` and `figure_` set.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError('CenteringStudyDisplay requires matplotlib, an optional '
                              'dependency of centered_nn. Install it with: pip install '
                              '"centered_nn[plot]"') from exc
        if self.sign_metric not in ("sample_same_sign_fraction", "same_sign_fraction"):
            raise ValueError("sign_metric must be 'sample_same_sign_fraction' or "
                             f"'same_sign_fraction'; got {self.sign_metric!r}.")
        if figure is None:
            figure = plt.figure(figsize=(15, 4.4), layout="constrained")
        axes = np.asarray(figure.subplots(1, 3))
        self.lines_ = {"loss": [], "validation": [], "epochs": [], "score": [], "sign": []}
        self.score_ax_ = axes[1].twinx()
        study = self.study
        for s, name in enumerate(study.setups):
            self._plot_setup(axes, s, name)
        axes[0].axhline(np.nanmean(study.target_loss), color="0.5", linewidth=0.8)
        axes[0].set(yscale="log", xlabel="epoch", ylabel="training loss",
                    title="loss at each setup's fastest rate")
        axes[1].set(xscale="log", xlabel="learning_rate_init", ylabel="epochs to target (solid)",
                    title="epochs to the target loss, CV score")
        self.score_ax_.set_ylabel("CV score (dashed)")
        axes[2].set(xlabel="epoch", ylabel=self.sign_metric.replace("_", " ") + " L0",
                    ylim=(-0.04, 1.04), title="first-layer signs at the fastest rate")
        axes[2].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                       title="setup (fastest rate)")
        self.axes_, self.figure_ = axes, figure
        return self

    def _plot_setup(self, axes, s, name):
        study = self.study
        row = study.summary[name]
        label = f"{name} ({row['fastest_rate']:g})" if row["fastest_rate"] else f"{name} (-)"
        if row["fastest_rate"] is not None:
            r = int(np.flatnonzero(study.learning_rates == row["fastest_rate"])[0])
            for k in range(study.n_splits):
                loss = study.curves["loss_curve"][s][r][k]
                epochs = np.arange(1, loss.size + 1)
                style = _style(s, len(study.setups), loss.size)
                self.lines_["loss"] += axes[0].plot(epochs, loss, linewidth=1, **style)
                validation = study.curves["validation_loss_curve"][s][r][k]
                if validation is not None:
                    self.lines_["validation"] += axes[0].plot(
                        np.arange(1, len(validation) + 1), validation, linestyle=":",
                        linewidth=1, color=style["color"])
                signs = study.curves[self.sign_metric][s][r][k]
                self.lines_["sign"] += axes[2].plot(
                    np.arange(1, signs.size + 1), signs, linewidth=1,
                    label=label if k == 0 else "_nolegend_", **style)
        epochs = np.where(study.figures["reached"][s].all(axis=1),
                          study.figures["epochs_to_target"][s].mean(axis=1), np.nan)
        style = _style(s, len(study.setups), study.learning_rates.size)
        self.lines_["epochs"] += axes[1].plot(study.learning_rates, epochs, **style)
        diverged = study.figures["diverged"][s].any(axis=1)
        if diverged.any():
            axes[1].plot(study.learning_rates[diverged], np.zeros(diverged.sum()), linestyle="",
                         marker="x", color=style["color"])
        self.lines_["score"] += self.score_ax_.plot(
            study.learning_rates, study.figures["test_score"][s].mean(axis=1),
            **dict(style, linestyle="--", marker=None))
