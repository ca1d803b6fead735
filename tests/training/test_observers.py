"""The loops' observer protocol: the events, their order, and what a step carries."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier
from centered_nn._network.network import BackwardOptions, BackwardStep, Network
from centered_nn._training.observers import Observers
from centered_nn._training.state import TrainingState

from ..harness import network_gradients


class Spy:
    """Records every event; checks each step's data terms as they are announced."""

    def __init__(self, interrupt_at=None):
        self.events, self.steps, self.interrupt_at = [], [], interrupt_at

    def on_fit_begin(self, X, first_offset, rows_recur):
        self.events.append(("fit_begin", X.shape, rows_recur))

    def on_iteration_begin(self, net, state):
        self.events.append("begin")

    def on_step(self, step):
        self.events.append("step")
        if self.interrupt_at is not None and len(self.steps) == self.interrupt_at:
            raise KeyboardInterrupt
        self.steps.append({
            "rows": None if step.rows is None else np.array(step.rows),
            "data_terms": [g.copy() for g in step.weight_gradients],
            "products": [a.T @ d for a, d in zip(step.inputs, step.deltas)],
            "n_layers": len(step.inputs) - 1,
        })

    def on_discard(self):
        self.events.append("discard")

    def on_iteration_end(self, net, state):
        self.events.append("end")

    def on_fit_end(self):
        self.events.append("fit_end")


def _fit_with(monkeypatch, spy, **params):
    monkeypatch.setattr(TrainingState, "observers",
                        lambda self: [self.recorder, self.callbacks, spy])
    X = np.random.default_rng(0).uniform(0, 1, (10, 3))
    y = np.arange(10) % 2
    clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_stochastic_events_once_per_step_with_every_layer(monkeypatch):
    spy = Spy()
    clf = _fit_with(monkeypatch, spy, solver="sgd", batch_size=4, max_iter=2, shuffle=False)
    epoch = ["begin", "step", "step", "step", "end"]
    assert spy.events == [("fit_begin", (10, 3), True), *epoch, *epoch, "fit_end"]
    assert [s["rows"].tolist() for s in spy.steps[:3]] == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                            [8, 9]]
    for step in spy.steps:
        assert len(step["data_terms"]) == len(clf.coefs_)
        for data, product in zip(step["data_terms"], step["products"]):
            # no offsets: the data term is the plain product aᵀ δ, no L2 term, not divided
            np.testing.assert_array_equal(data, product)


def test_lbfgs_discards_trial_evaluations_and_ends_each_iteration(monkeypatch):
    spy = Spy()
    clf = _fit_with(monkeypatch, spy, solver="lbfgs", max_iter=5)
    assert spy.events[0] == ("fit_begin", (10, 3), True) and spy.events[-1] == "fit_end"
    assert spy.events.count("end") == len(clf.loss_curve_)
    assert spy.events.count("begin") == len(clf.loss_curve_) + 1
    # every evaluation forgets the one before: a step is always preceded by a discard
    body = spy.events[1:-1]
    for i, event in enumerate(body):
        if event == "step":
            assert body[i - 1] == "discard"
    assert all(s["rows"] is None for s in spy.steps)  # all of X, in order


def test_an_interrupted_epoch_is_discarded_and_the_fit_ends(monkeypatch):
    spy = Spy(interrupt_at=4)  # the second epoch's second step
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        clf = _fit_with(monkeypatch, spy, solver="sgd", batch_size=4, max_iter=3,
                        shuffle=False)
    assert len(clf.loss_curve_) == 1
    assert spy.events[-3:] == ["step", "discard", "fit_end"]
    assert clf.gradient_sign_history_["same_sign_fraction"].shape == (1, 2)


@pytest.mark.parametrize("centralize", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("data_terms", [True, False])
def test_gradient_step_then_finish_is_backward_bit_for_bit(centralize, weighted, data_terms):
    """The penalty added after the observers saw the data terms: the same bits as
    backward, which adds it layer by layer."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (9, 5))
    Y = np.eye(3)[np.arange(9) % 3]
    sw = rng.uniform(0.5, 2.0, 9) if weighted else None
    coefs = [rng.standard_normal((5, 4)), rng.standard_normal((4, 3))]
    intercepts = [rng.standard_normal(4), rng.standard_normal(3)]
    offsets = [rng.standard_normal(5), None]
    from centered_nn.activations import get_activation
    from centered_nn._network.output import OUTPUT_LAYERS

    net = Network(coefs, intercepts, offsets, get_activation("tanh"), OUTPUT_LAYERS["softmax"]())
    options = BackwardOptions(0.3, learn_offsets=True, centralize=centralize)
    _, step = net.gradient_step(X, Y, sw, options, data_terms=data_terms)
    assert isinstance(step, BackwardStep) and len(step.deltas) == 2
    E = X + offsets[0]
    expected = E.T @ step.deltas[0]
    if centralize:
        expected -= expected.mean(axis=0)
    if data_terms:
        np.testing.assert_allclose(step.weight_gradients[0], expected, rtol=1e-12, atol=1e-12)
    finished = step.finish()
    assert step.finish() is not None and finished[0][0] is step.weight_gradients[0]
    reference = network_gradients(X, Y, sw, net, options)
    for got, want in zip(finished, reference):
        for g, w in zip(got, want):
            if w is None:
                assert g is None
            else:
                np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(step.finish()[0][1], reference[0][1])  # added once only


def _two_offset_net(rng, dtype):
    from centered_nn.activations import get_activation
    from centered_nn._network.output import OUTPUT_LAYERS

    coefs = [rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)]
    intercepts = [rng.standard_normal(4).astype(dtype), rng.standard_normal(3).astype(dtype)]
    offsets = [rng.standard_normal(5).astype(dtype), rng.standard_normal(4).astype(dtype)]
    return Network(coefs, intercepts, offsets, get_activation("relu"), OUTPUT_LAYERS["softmax"]())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_penalty_handed_over_gives_backwards_bits(compiled_switch, dtype, weighted):
    """take_penalty hands the one observer what the compiled penalty needs: the data term
    it hands over plus its pending offset term is the one an observer sees otherwise,
    and the gradient written from it (here by the network's own loop) is backward's bit
    for bit, as is finish's for a layer not taken (its offset term still pending)."""
    pytest.importorskip("numba")
    compiled_switch.ENABLED = True
    from centered_nn._network import fused

    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (9, 5)).astype(dtype)
    Y = np.eye(3, dtype=dtype)[np.arange(9) % 3]
    sw = rng.uniform(0.5, 2.0, 9).astype(dtype) if weighted else None
    net = _two_offset_net(rng, dtype)
    options = BackwardOptions(0.3, learn_offsets=True)
    _, seen = net.gradient_step(X, Y, sw, options, data_terms=True)
    _, step = net.gradient_step(X, Y, sw, options, data_terms=True, handover=True)
    assert seen.take_penalty(0) is None  # not handed over: several observers may read it
    grad, coef, offset, sums, alpha, scale = step.take_penalty(0)
    assert step.take_penalty(0) is None  # once
    assert coef is net.coefs[0] and alpha.dtype == scale.dtype == grad.dtype
    data = grad.copy()
    data += np.outer(offset, sums)
    np.testing.assert_array_equal(data, seen.weight_gradients[0])
    fused._kernels().penalize(grad, coef, offset, sums, True, alpha, scale)
    finished = step.finish()
    assert step.take_penalty(1) is None  # finished
    reference = network_gradients(X, Y, sw, net, options)
    for got, want in zip(finished, reference):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_no_penalty_is_handed_over_under_centralization_or_without_numba(compiled_switch):
    rng = np.random.default_rng(3)
    X, Y = rng.uniform(-1, 1, (6, 5)), np.eye(3)[np.arange(6) % 3]
    net = _two_offset_net(rng, np.float64)
    _, step = net.gradient_step(X, Y, None, BackwardOptions(0.3, centralize=True),
                                data_terms=True, handover=True)
    assert step.take_penalty(0) is None and step.take_penalty(1) is None
    compiled_switch.ENABLED = False
    _, step = net.gradient_step(X, Y, None, BackwardOptions(0.3), data_terms=True,
                                handover=True)
    assert step.take_penalty(0) is None
    expected = (X + net.offsets[0]).T @ step.deltas[0]  # the offset term was added at once
    np.testing.assert_allclose(step.weight_gradients[0], expected, rtol=1e-12, atol=1e-12)


def test_only_a_sole_observer_of_steps_may_take_their_penalty():
    class Watch:
        def on_step(self, step):
            pass

    assert Observers([Watch(), None]).sole_step_observer
    assert not Observers([Watch(), Watch()]).sole_step_observer
    assert not Observers([None]).sole_step_observer


def test_observers_skip_absent_hooks_and_or_the_stop_requests():
    class Stopper:
        def on_iteration_end(self, net, state):
            return True

    class Quiet:
        def on_iteration_end(self, net, state):
            return None

    assert Observers([Quiet(), Stopper(), None]).on_iteration_end(None, None) is True
    assert Observers([Quiet()]).on_iteration_end(None, None) is False
    silent = Observers([Quiet()])
    assert not silent.watches_steps
    silent.on_step(object())  # no observer listens: nothing happens
    silent.on_fit_begin(None, None, False)
