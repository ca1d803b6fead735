"""scikit-learn's callback API on both estimators: task tree, ProgressBar, ScoringMonitor,
rollback with teardown, and trajectories left unchanged."""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from centered_nn import Centerer, MLPClassifier, MLPRegressor, SampleCenterer
from centered_nn._estimators import callbacks as callbacks_module

pytest.importorskip("sklearn.callback")
from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402

X_CLF, Y_CLF = make_classification(n_samples=80, n_features=6, n_informative=4, n_classes=3,
                                   random_state=0)
X_REG, Y_REG = make_regression(n_samples=80, n_features=5, noise=1.0, random_state=0)
SOLVERS = ["sgd", "adam", "lbfgs"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _path(context):
    path = []
    while context is not None:
        path.append(context.task_id)
        context = context.parent
    return tuple(reversed(path))


class Recorder:
    """Records every hook call: (hook, task_name, task path, fitted_estimator)."""

    def __init__(self, fail_at=None):
        self.events = []
        self.fail_at = fail_at  # (hook, task_name, index): raise there

    def _record(self, hook, context, fitted_estimator=None):
        self.events.append((hook, getattr(context, "task_name", None), _path(context),
                            fitted_estimator))
        if self.fail_at is not None and self.fail_at[:2] == (hook, self.events[-1][1]):
            if sum(e[:2] == self.fail_at[:2] for e in self.events) == self.fail_at[2]:
                raise RuntimeError(f"callback failed in {hook}")

    def setup(self, estimator, context):
        self._record("setup", context)

    def teardown(self, estimator, context):
        self._record("teardown", context)

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self._record("begin", context, fitted_estimator)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self._record("end", context, fitted_estimator)

    def ends(self, task_name):
        return [e for e in self.events if e[0] == "end" and e[1] == task_name]


class PropagatedRecorder(Recorder):
    max_propagation_depth = None  # an AutoPropagatedCallback: meta-estimators pass it on


def _estimator(kind, solver, **params):
    params = {"hidden_layer_sizes": (8,), "solver": solver, "max_iter": 4, "random_state": 0,
              **params}
    if solver == "sgd":
        params.setdefault("learning_rate_init", 0.05)
    return MLPClassifier(**params) if kind == "clf" else MLPRegressor(**params)


def _data(kind):
    return (X_CLF, Y_CLF) if kind == "clf" else (X_REG, Y_REG)


def _same_fit(a, b):
    for name in ("coefs_", "intercepts_"):
        for p, q in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(p, q)
    for name in ("input_biases_",):
        for p, q in zip(getattr(a, name), getattr(b, name)):
            assert (p is None and q is None) or np.array_equal(p, q)
    assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_
    for name in ("validation_scores_", "validation_loss_curve_"):
        assert getattr(a, name, None) == getattr(b, name, None)
    history_a, history_b = a.gradient_sign_history_, b.gradient_sign_history_
    assert history_a.keys() == history_b.keys()
    for metric in history_a:
        np.testing.assert_array_equal(history_a[metric], history_b[metric])


# ------------------------------------------------------------------ task tree
@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_task_tree_one_subtask_per_epoch_or_iteration(kind, solver):
    X, y = _data(kind)
    recorder = Recorder()
    est = _estimator(kind, solver).set_callbacks(recorder).fit(X, y)
    name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    hooks = [e[:3] for e in recorder.events]
    assert hooks[0] == ("setup", "fit", (0,)) and hooks[1] == ("begin", "fit", (0,))
    assert hooks[-2:] == [("end", "fit", (0,)), ("teardown", "fit", (0,))]
    subtasks = hooks[2:-2]
    # each subtask begins then ends, numbered from 0; L-BFGS ends an empty extra one
    n = est.n_iter_ + (solver == "lbfgs")
    assert subtasks == [(hook, name, (0, i)) for i in range(n) for hook in ("begin", "end")]
    with_model = [e for e in recorder.ends(name) if e[3] is not None]
    assert len(with_model) == est.n_iter_
    assert recorder.ends("fit")[0][3] is not None  # the fitted estimator for the root
    assert not hasattr(est, "_callback_fit_ctx") and est._skl_callbacks == [recorder]


def test_a_fit_without_callbacks_opens_no_context(monkeypatch):
    opened = []
    original = MLPClassifier._init_callback_context

    def recording(self, **kwargs):
        opened.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(MLPClassifier, "_init_callback_context", recording)
    est = _estimator("clf", "adam").fit(X_CLF, Y_CLF)
    assert opened == [] and not hasattr(est, "_skl_callbacks")
    est.set_callbacks(Recorder()).fit(X_CLF, Y_CLF)  # with a callback set, it is opened
    assert opened == [{"task_name": "fit", "max_subtasks": 4}]


def test_partial_fit_is_a_root_task_with_one_epoch():
    recorder = Recorder()
    est = _estimator("clf", "sgd").set_callbacks(recorder)
    est.partial_fit(X_CLF, Y_CLF, classes=np.unique(Y_CLF))
    est.partial_fit(X_CLF, Y_CLF)
    hooks = [e[:3] for e in recorder.events]
    one_call = [("setup", "partial_fit", (0,)), ("begin", "partial_fit", (0,)),
                ("begin", "epoch", (0, 0)), ("end", "epoch", (0, 0)),
                ("end", "partial_fit", (0,)), ("teardown", "partial_fit", (0,))]
    assert hooks == one_call * 2


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver, input_bias", [
    ("sgd", "none"), ("sgd", "mean"), ("sgd", "batch"), ("adam", "learned"),
    ("lbfgs", "none"), ("lbfgs", "learned")])
def test_epoch_models_equal_fits_stopped_there(kind, solver, input_bias):
    """The model a callback gets at the end of epoch k is the one max_iter=k fits."""
    X, y = _data(kind)
    recorder = Recorder()
    est = _estimator(kind, solver, input_bias=input_bias).set_callbacks(recorder).fit(X, y)
    name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    models = [e[3] for e in recorder.ends(name) if e[3] is not None]
    assert len(models) == est.n_iter_ == 4
    for k, model in enumerate(models[:3], start=1):
        stopped = _estimator(kind, solver, input_bias=input_bias, max_iter=k).fit(X, y)
        np.testing.assert_array_equal(model.predict(X), stopped.predict(X))
        for p, q in zip(model.coefs_, stopped.coefs_):
            np.testing.assert_array_equal(p, q)
        assert model.coefs_[0].dtype == X.dtype
    # copies: the last epoch's model is the fitted one, yet no array is shared
    assert all(p is not q for p, q in zip(models[-1].coefs_, est.coefs_))


# --------------------------------------------------------- trajectory unchanged
@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("params", [
    dict(), dict(input_bias="batch"), dict(input_bias="mean", gradient_centralization=True),
    dict(early_stopping=True, validation_fraction=0.2, input_bias="learned")])
def test_callbacks_never_change_the_trajectory(kind, solver, params):
    if solver == "lbfgs" and params.get("early_stopping"):
        params = {k: v for k, v in params.items() if k != "early_stopping"}
    X, y = _data(kind)
    monitor = ScoringMonitor(scoring="r2" if kind == "reg" else "accuracy")
    plain = _estimator(kind, solver, **params).fit(X, y)
    watched = _estimator(kind, solver, **params).set_callbacks(Recorder(), monitor).fit(X, y)
    _same_fit(plain, watched)
    assert len(monitor.get_logs().data) == watched.n_iter_ + 1


@pytest.mark.parametrize("params", [dict(solver="adam", max_iter=15),
                                    dict(solver="sgd", learning_rate="invscaling",
                                         learning_rate_init=0.5, max_iter=10),
                                    dict(solver="lbfgs", max_iter=20),
                                    dict(solver="adam", early_stopping=True, max_iter=15)])
def test_parity_with_scikit_learn_holds_with_callbacks_set(params):
    """test_mlp's parity assertion, our estimator watched by callbacks."""
    from ..parity.test_mlp import X_DIGITS, Y_DIGITS, _assert_same_model

    params = dict(hidden_layer_sizes=(16,), random_state=0, **params)
    ours = MLPClassifier(**params).set_callbacks(Recorder(), ScoringMonitor(scoring="accuracy"))
    ours.fit(X_DIGITS, Y_DIGITS)
    theirs = SkMLP(**params).fit(X_DIGITS, Y_DIGITS)
    _assert_same_model(ours, theirs, X_DIGITS)


def test_partial_fit_and_warm_start_unchanged_by_callbacks():
    plain = _estimator("clf", "adam", warm_start=True)
    watched = _estimator("clf", "adam", warm_start=True).set_callbacks(Recorder())
    for est in (plain, watched):
        est.partial_fit(X_CLF[:40], Y_CLF[:40], classes=np.unique(Y_CLF))
        est.partial_fit(X_CLF[40:], Y_CLF[40:])
        est.fit(X_CLF, Y_CLF)
    _same_fit(plain, watched)


# ------------------------------------------------------------ ScoringMonitor
@pytest.mark.parametrize("kind, scoring, metric", [("clf", "accuracy", accuracy_score),
                                                  ("reg", "r2", r2_score)])
@pytest.mark.parametrize("solver", SOLVERS)
def test_scoring_monitor_logs_one_record_per_epoch(kind, scoring, metric, solver):
    X, y = _data(kind)
    monitor = ScoringMonitor(scoring=scoring)
    est = _estimator(kind, solver).set_callbacks(monitor).fit(X, y)
    data = monitor.get_logs().data
    name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    epochs = [row for row in data if row["task_name"] == name]
    assert [row["task_id_path"] for row in epochs] == [(0, k) for k in range(est.n_iter_)]
    assert all(row["parent_task_id_path"] == (0,) for row in epochs)
    root = [row for row in data if row["task_name"] == "fit"]
    assert len(root) == 1 and root[0]["task_id_path"] == (0,)
    assert root[0][scoring] == metric(y, est.predict(X))
    # each record scores the model of that epoch: the fit stopped there
    for row in epochs[:2]:
        k = row["task_id_path"][1] + 1
        stopped = _estimator(kind, solver, max_iter=k).fit(X, y)
        assert row[scoring] == metric(y, stopped.predict(X))


@pytest.mark.parametrize("solver", SOLVERS)
def test_scoring_monitor_inside_a_pipeline_logs_paths_below_the_final_step(solver):
    monitor = ScoringMonitor(scoring="neg_mean_squared_error")
    reg = _estimator("reg", solver).set_callbacks(monitor)
    make_pipeline(StandardScaler(), reg).fit(X_REG, Y_REG)
    log = monitor.get_logs()
    assert log.estimator_name == "Pipeline"  # the run is the outermost fit
    name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    epochs = [row for row in log.data if row["task_name"] == name]
    # pipeline fit (0) > its final step, task 1, merged with the MLP's fit > epoch k
    assert [row["task_id_path"] for row in epochs] == [(0, 1, k) for k in range(reg.n_iter_)]
    assert {row["estimator_name"] for row in epochs} == {"MLPRegressor"}


def test_scoring_monitor_passes_sample_weight_as_metadata():
    sw = np.linspace(0.5, 2.0, len(Y_CLF))
    monitor = ScoringMonitor(scoring="accuracy")
    est = _estimator("clf", "adam").set_callbacks(monitor).fit(X_CLF, Y_CLF, sample_weight=sw)
    root = [row for row in monitor.get_logs().data if row["task_name"] == "fit"][0]
    assert root["accuracy"] == accuracy_score(Y_CLF, est.predict(X_CLF), sample_weight=sw)


# ---------------------------------------------------------------- ProgressBar
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("weighted", [False, True])
def test_callbacks_see_the_users_sample_weight_not_the_class_weighted_one(solver, weighted):
    """As LogisticRegression's fit task: a ScoringMonitor on class_weight='balanced' reports
    accuracy_score with the weights passed (None if none), at the root and every epoch."""
    X, y = make_classification(n_samples=90, n_features=5, weights=[0.8], flip_y=0.1,
                               random_state=1)
    sw = np.linspace(0.5, 2.0, len(y)) if weighted else None
    monitor = ScoringMonitor(scoring="accuracy")
    est = _estimator("clf", solver, class_weight="balanced", max_iter=3)
    est.set_callbacks(monitor).fit(X, y, sample_weight=sw)
    rows = monitor.get_logs().data
    root = [row for row in rows if row["task_name"] == "fit"][0]
    expected = accuracy_score(y, est.predict(X), sample_weight=sw)
    assert root["accuracy"] == expected
    balanced = compute_sample_weight("balanced", y) * (1.0 if sw is None else sw)
    assert accuracy_score(y, est.predict(X), sample_weight=balanced) != expected  # it tells
    for row in [r for r in rows if r["task_name"] != "fit"][:est.n_iter_]:
        stopped = _estimator("clf", solver, class_weight="balanced",
                             max_iter=row["task_id_path"][1] + 1).fit(X, y, sample_weight=sw)
        assert row["accuracy"] == accuracy_score(y, stopped.predict(X), sample_weight=sw)


def test_progress_bar_shows_one_bar_per_fit(capsys):
    pytest.importorskip("rich")
    _estimator("clf", "adam").set_callbacks(ProgressBar()).fit(X_CLF, Y_CLF)
    out = capsys.readouterr().out
    assert len(re.findall(r"MLPClassifier - fit", out)) == 1
    assert re.search(r"100%", out) and not re.search(r"\b[0-9]{1,2}%", out)


def test_progress_bar_nests_under_pipeline_and_grid_search(capsys):
    pytest.importorskip("rich")
    pipe = make_pipeline(StandardScaler(), _estimator("reg", "lbfgs"))
    pipe.set_callbacks(ProgressBar()).fit(X_REG, Y_REG)
    out = capsys.readouterr().out
    assert re.search(r"^Pipeline - fit", out, re.M)
    assert re.search(r"^  Pipeline - fit-final-estimator \| MLPRegressor - fit #1", out, re.M)
    search = GridSearchCV(make_pipeline(StandardScaler(), _estimator("clf", "sgd")),
                          {"mlpclassifier__input_bias": ["none", "mean"]}, cv=2)
    search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X_CLF, Y_CLF)
    out = capsys.readouterr().out
    # 2 candidates x 2 folds + the refit, each an MLP bar under its pipeline's
    nested = re.findall(r"^ +Pipeline - fit-final-estimator \| MLPClassifier - fit", out, re.M)
    assert len(nested) == 5
    assert not re.search(r"\b[0-9]{1,2}%", out)


@pytest.mark.parametrize("transformer", [Centerer(), SampleCenterer()])
def test_the_packages_transformers_take_propagated_callbacks(transformer, capsys):
    """As StandardScaler in scikit-learn 1.9: no "does not support callbacks" warning for
    the package's transformers in a searched pipeline, and each of their fits is a task."""
    pytest.importorskip("rich")
    search = GridSearchCV(make_pipeline(transformer, _estimator("clf", "adam", max_iter=2)),
                          {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not support callbacks")
        search.set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X_CLF, Y_CLF)
    capsys.readouterr()
    recorder = FitEnds()
    search.set_callbacks(recorder).fit(X_CLF, Y_CLF)
    # 2 candidates x 2 folds + the refit: one fit task of the transformer in each
    assert recorder.names.count(type(transformer).__name__) == 5
    assert recorder.names.count("MLPClassifier") == 5


class FitEnds(PropagatedRecorder):
    """Names the estimator of every root fit task that ends."""

    def __init__(self):
        super().__init__()
        self.names = []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)
        if context.task_name == "fit" and context.estimator_name == type(estimator).__name__:
            self.names.append(context.estimator_name)


def test_grid_search_propagates_to_every_epoch():
    recorder = PropagatedRecorder()
    search = GridSearchCV(make_pipeline(StandardScaler(), _estimator("clf", "adam")),
                          {"mlpclassifier__input_bias": ["none", "batch"]}, cv=2)
    search.set_callbacks(recorder).fit(X_CLF, Y_CLF)
    epochs = recorder.ends("epoch")
    assert len(epochs) == 5 * 4  # five MLP fits of four epochs
    # fit > search > candidate (merged with the pipeline's fit) > final step (merged with
    # the MLP's fit) > epoch; the refit has no search level
    depths = [len(e[2]) for e in epochs]
    assert depths == [5] * 16 + [4] * 4
    assert len({e[2][:-1] for e in epochs}) == 5  # five distinct MLP fits
    assert all(e[2][-1] == i % 4 for i, e in enumerate(epochs))
    assert [e[0] for e in recorder.events].count("setup") == 1  # on the outermost only


# --------------------------------------------------- failing callbacks, rollback
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fail_at", [("end", "subtask", 2), ("begin", "fit", 1),
                                     ("end", "fit", 1), ("teardown", "fit", 1)])
def test_a_failing_callback_leaves_the_estimator_as_before(solver, fail_at):
    if fail_at[1] == "subtask":  # the third epoch or L-BFGS iteration
        fail_at = (fail_at[0], "lbfgs-iter" if solver == "lbfgs" else "epoch", 3)
    failing, bystander = Recorder(fail_at=fail_at), Recorder()
    est = _estimator("clf", solver, warm_start=True).fit(X_CLF, Y_CLF)
    before = {k: v for k, v in vars(est).items()}
    coefs = [c.copy() for c in est.coefs_]
    curve = list(est.loss_curve_)
    est.set_callbacks(failing, bystander)
    with pytest.raises(RuntimeError, match=f"callback failed in {fail_at[0]}"):
        est.fit(X_CLF, Y_CLF)
    assert set(vars(est)) == set(before) | {"_skl_callbacks"}
    for p, q in zip(est.coefs_, coefs):
        np.testing.assert_array_equal(p, q)
    assert est.loss_curve_ == curve
    assert est._skl_callbacks[0] is failing and est._skl_callbacks[1] is bystander
    for recorder in (failing, bystander):  # every teardown ran
        assert [e[0] for e in recorder.events].count("teardown") == 1
    # and an unfitted estimator stays unfitted
    fresh = _estimator("clf", solver).set_callbacks(Recorder(fail_at=fail_at))
    with pytest.raises(RuntimeError, match="callback failed"):
        fresh.fit(X_CLF, Y_CLF)
    assert not hasattr(fresh, "coefs_") and not hasattr(fresh, "_callback_fit_ctx")


class Stopper(Recorder):
    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)
        return context.task_name == "epoch" and context.task_id == 1


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_callback_can_stop_stochastic_training_at_an_epoch_end(solver):
    stopped = _estimator("clf", solver).set_callbacks(Stopper()).fit(X_CLF, Y_CLF)
    two_epochs = _estimator("clf", solver, max_iter=2).fit(X_CLF, Y_CLF)
    assert stopped.n_iter_ == 2
    _same_fit(stopped, two_epochs)


class IterationStopper(Recorder):
    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)
        return context.task_name == "lbfgs-iter" and context.task_id == 1


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_a_callback_can_stop_lbfgs_at_an_iteration_end(kind):
    """As for sgd and adam: a stop requested at the end of the 2nd iteration ends the fit
    there (scipy's StopIteration), with the model of 2 iterations and no convergence
    warning; every iteration begun is ended, and no 3rd one begins."""
    X, y = _data(kind)
    stopper = IterationStopper()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure
        stopped = _estimator(kind, "lbfgs", max_iter=50).set_callbacks(stopper).fit(X, y)
    two_iterations = _estimator(kind, "lbfgs", max_iter=2).fit(X, y)
    assert stopped.n_iter_ == 2 and len(stopped.loss_curve_) == 2
    _same_fit(stopped, two_iterations)
    begun = [e[2] for e in stopper.events if e[:2] == ("begin", "lbfgs-iter")]
    ended = [e[2] for e in stopper.ends("lbfgs-iter")]
    assert begun == ended == [(0, 0), (0, 1)]


# ------------------------------------------------------ older scikit-learn
def test_set_callbacks_names_the_version_needed(monkeypatch):
    monkeypatch.setattr(callbacks_module, "callbacks_available", lambda: False)
    est = MLPRegressor()
    with pytest.raises(ImportError, match=r"Callbacks need scikit-learn >= 1\.9 \(the "
                                          r"sklearn\.callback module\); scikit-learn \S+ is"):
        est.set_callbacks(Recorder())
    assert not hasattr(est, "_skl_callbacks")


def test_set_callbacks_refuses_non_callbacks():
    with pytest.raises(TypeError, match="callbacks must be instances following the FitCallback"):
        MLPClassifier().set_callbacks(Recorder)


class Interrupter(Recorder):
    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        super().on_fit_task_begin(estimator, context, fitted_estimator=fitted_estimator)
        if context.task_name == "epoch" and context.task_id == 2:
            raise KeyboardInterrupt


def test_an_interrupted_epoch_is_ended_empty_before_the_fit():
    recorder = Interrupter()
    est = _estimator("clf", "adam")
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.set_callbacks(recorder).fit(X_CLF, Y_CLF)
    assert est.n_iter_ == 2
    hooks = [e[:3] for e in recorder.events]
    assert hooks[-4:] == [("begin", "epoch", (0, 2)), ("end", "epoch", (0, 2)),
                          ("end", "fit", (0,)), ("teardown", "fit", (0,))]
    assert recorder.events[-3][3] is None  # the cut-short epoch has no model


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_float32_models_are_float32_copies(solver):
    X = X_REG.astype(np.float32)
    recorder = Recorder()
    est = _estimator("reg", solver).set_callbacks(recorder).fit(X, Y_REG)
    name = "lbfgs-iter" if solver == "lbfgs" else "epoch"
    models = [e[3] for e in recorder.ends(name) if e[3] is not None]
    stopped = _estimator("reg", solver, max_iter=2).fit(X, Y_REG)
    for p, q in zip(models[1].coefs_ + models[1].intercepts_,
                    stopped.coefs_ + stopped.intercepts_):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    assert est.coefs_[0].dtype == np.float32
