import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from centered_nn import MLPClassifier
from centered_nn._network.activation_calls import (
    derivative_needs_value_only,
    multiply_by_derivative as multiply_derivative,
    write_value as value_into,
)
from centered_nn.activations import (
    ACTIVATIONS,
    Activation,
    LeakyReLU,
    Logistic,
    Tanh,
    get_activation,
)


class Swish(Activation):
    """A user-defined activation with a parameter: z * sigmoid(beta z)."""

    def __init__(self, beta=1.0):
        self.beta = beta

    def value(self, z):
        return z / (1 + np.exp(-self.beta * z))

    def derivative(self, z, a):
        s = 1 / (1 + np.exp(-self.beta * z))
        return s + self.beta * z * s * (1 - s)


ALL = [cls() for cls in ACTIVATIONS.values()] + [Swish(beta=1.5), LeakyReLU(alpha=0.2)]
IDS = [repr(a) for a in ALL]


def numerical_derivative(f, z, eps=1e-6):
    return (f(z + eps) - f(z - eps)) / (2 * eps)


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_derivative_matches_central_differences(act):
    rng = np.random.RandomState(0)
    z = rng.uniform(-4, 4, size=200)
    z = z[np.abs(z) > 1e-3]  # away from the kinks of relu-like functions
    expected = numerical_derivative(act.value, z)
    np.testing.assert_allclose(act.derivative(z, act.value(z)), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_value_keeps_dtype_shape_and_input(act):
    z = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    before = z.copy()
    a = act.value(z)
    d = act.derivative(z, a)
    assert a.shape == z.shape and d.shape == z.shape
    assert a.dtype == np.float32 and d.dtype == np.float32
    np.testing.assert_array_equal(z, before)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_large_inputs_do_not_overflow_or_warn(name):
    act = ACTIVATIONS[name]()
    z = np.array([-1e6, -50.0, 0.0, 50.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.value(z)
        d = act.derivative(z, a)
    assert np.isfinite(d).all()
    # values are finite except where the function itself is unbounded (linear growth)
    assert np.isfinite(a).all()


def test_closed_forms():
    z = np.array([-2.0, 0.0, 1.0])
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(ACTIVATIONS["centered_logistic"]().value(z), sig - 0.5)
    np.testing.assert_allclose(ACTIVATIONS["lecun_tanh"]().value(z), 1.7159 * np.tanh(2 * z / 3))
    np.testing.assert_allclose(ACTIVATIONS["softplus"]().value(z), np.log1p(np.exp(z)))
    selu = ACTIVATIONS["selu"]().value(z)
    np.testing.assert_allclose(
        selu, 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z))
    )
    # same slope, different mean: the point of centered_logistic
    np.testing.assert_allclose(
        ACTIVATIONS["centered_logistic"]().derivative(z, sig - 0.5), sig * (1 - sig)
    )


def test_init_factors_follow_scikit_learn():
    assert ACTIVATIONS["logistic"].init_factor == 2.0
    assert ACTIVATIONS["centered_logistic"].init_factor == 2.0
    others = set(ACTIVATIONS) - {"logistic", "centered_logistic"}
    assert {ACTIVATIONS[n].init_factor for n in others} == {6.0}


def test_params_clone_and_pickle():
    act = Swish(beta=2.5)
    assert act.get_params() == {"beta": 2.5}
    assert act.set_params(beta=0.5).beta == 0.5
    cloned = clone(act)
    assert cloned is not act and cloned.get_params() == {"beta": 0.5}
    restored = pickle.loads(pickle.dumps(LeakyReLU(alpha=0.3)))
    assert restored.alpha == 0.3


def test_nested_params_through_the_estimator():
    clf = MLPClassifier(activation=LeakyReLU(alpha=0.1))
    assert clf.get_params()["activation__alpha"] == 0.1
    clf.set_params(activation__alpha=0.05)
    assert clf.activation.alpha == 0.05


def test_get_activation_unknown_name_lists_valid_names():
    with pytest.raises(InvalidParameterError, match="Unknown activation 'swish'") as exc:
        get_activation("swish")
    for name in ACTIVATIONS:
        assert name in str(exc.value)


def test_get_activation_names_missing_methods():
    class OnlyValue:
        def value(self, z):
            return z

    with pytest.raises(TypeError, match=r"lacks the method\(s\) derivative;"):
        get_activation(OnlyValue())
    with pytest.raises(TypeError, match=r"lacks the method\(s\) value and derivative"):
        get_activation(3)


def test_estimator_rejects_bad_activation_at_fit():
    """The `activation` constraint is built from the registry: every name is listed."""
    X, y = np.eye(4), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="'activation' parameter of MLPClassifier must be a str among") as exc:
        MLPClassifier(activation="swish").fit(X, y)
    for name in ACTIVATIONS:
        assert repr(name) in str(exc.value)
    with pytest.raises(TypeError, match="an object implementing 'value' and 'derivative'"):
        MLPClassifier(activation=object()).fit(X, y)


def test_activation_parameter_is_never_changed():
    act = LeakyReLU(alpha=0.1)
    X = np.random.RandomState(0).rand(20, 3)
    y = np.arange(20) % 2
    clf = MLPClassifier(activation=act, hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.activation is act and act.alpha == 0.1
    assert clf.activation_ is not act and clf.activation_.get_params() == {"alpha": 0.1}


def _edge_inputs(dtype):
    """Pre-activations over a wide range, with zeros, kinks, infinities and NaN."""
    rng = np.random.RandomState(3)
    z = np.concatenate([rng.standard_normal(40) * 3, [0.0, -0.0, 1e-300, -1e-300, 30.0, -30.0,
                                                      700.0, -700.0, np.inf, -np.inf, np.nan]])
    with np.errstate(over="ignore", under="ignore"):
        return np.resize(z, (7, 9)).astype(dtype)


def _times_derivative(act, delta, z, a):
    """``delta * f'``, grouped as the in-place variant promises: logistic uses
    scikit-learn's ``(delta * a) * (1 - a)`` (bitwise parity with its MLP)."""
    if type(act) is Logistic:
        return (delta * a) * (1 - a)
    return delta * act.derivative(z, a)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("act", ALL, ids=IDS)
def test_in_place_variants_equal_value_and_derivative_bitwise(act, dtype):
    z = _edge_inputs(dtype)
    delta = np.resize(np.random.RandomState(4).standard_normal(30) * 10, z.shape).astype(dtype)
    delta[0, :3] = [0.0, -0.0, np.nan]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        a = act.value(z)
        expected = _times_derivative(act, delta, z, a)
        out = np.full_like(a, 123.0)
        assert value_into(act, z, out) is out
        scratch, d = z.copy(), delta.copy()
        assert multiply_derivative(act, scratch, a, d) is d
    np.testing.assert_array_equal(out, a)  # NaN where a has NaN
    np.testing.assert_array_equal(np.signbit(out), np.signbit(a))
    np.testing.assert_array_equal(d, expected)
    np.testing.assert_array_equal(np.signbit(d), np.signbit(expected))
    assert out.dtype == a.dtype and d.dtype == dtype


def test_in_place_helpers_accept_objects_that_do_not_subclass_activation():
    class Cube:  # duck-typed: value and derivative only
        def value(self, z):
            return z**3

        def derivative(self, z, a):
            return 3 * z**2

    z = np.array([[-1.0, 2.0]])
    out = np.empty_like(z)
    np.testing.assert_array_equal(value_into(Cube(), z, out), [[-1.0, 8.0]])
    delta = np.array([[2.0, 0.5]])
    np.testing.assert_array_equal(multiply_derivative(Cube(), z, out, delta), [[6.0, 6.0]])
    np.testing.assert_array_equal(z, [[-1.0, 2.0]])  # the fallback leaves z alone


def test_multiply_derivative_with_z_sharing_memory_with_a_falls_back():
    z = np.array([0.5, -0.25])
    a = z  # e.g. an activation computed in place: z is not scratch then
    delta = np.array([1.0, 2.0])
    expected = delta * ACTIVATIONS["logistic"]().derivative(z, a)
    multiply_derivative(ACTIVATIONS["logistic"](), z, a, delta)
    np.testing.assert_array_equal(delta, expected)


def test_a_subclass_overriding_the_slow_methods_only_does_not_get_the_parents_fast_ones():
    """Tanh's value_into, multiply_derivative and derivative_from_value compute tanh."""

    class Shifted(Tanh):
        def value(self, z):
            return np.tanh(z) + 1.0

        def derivative(self, z, a):
            return 1.0 - (a - 1.0) ** 2

    class FastSquare(Tanh):  # overrides the fast methods too, below the slow ones
        def value(self, z):
            return z * z

        def derivative(self, z, a):
            return 2 * z

        def value_into(self, z, out):
            calls.append(z)
            np.multiply(z, z, out=out)
            return out

    calls = []
    z = np.array([[-0.5, 0.25]])
    a = value_into(Shifted(), z, np.empty_like(z))
    np.testing.assert_array_equal(a, np.tanh(z) + 1.0)
    delta = multiply_derivative(Shifted(), z.copy(), a, np.ones_like(z))
    np.testing.assert_array_equal(delta, 1.0 - (a - 1.0) ** 2)  # not Tanh's 1 - a²
    assert not np.allclose(delta, 1.0 - a**2)
    assert derivative_needs_value_only(Tanh()) and not derivative_needs_value_only(Shifted())
    out = np.empty_like(z)
    assert value_into(FastSquare(), z, out) is out
    np.testing.assert_array_equal(out, z * z)
    assert len(calls) == 1  # its own fast method is used


FROM_VALUE = {"identity", "logistic", "centered_logistic", "tanh", "lecun_tanh", "relu"}


def test_derivative_from_value_flags():
    assert {n for n, cls in ACTIVATIONS.items() if cls.derivative_from_value} == FROM_VALUE
    assert Swish.derivative_from_value is False  # the safe default for user subclasses


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(FROM_VALUE))
def test_in_place_forward_then_derivative_from_the_value_alone(name, dtype):
    act = ACTIVATIONS[name]()
    z = _edge_inputs(dtype)
    delta = np.resize(np.random.RandomState(5).standard_normal(30), z.shape).astype(dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected_a = act.value(z)
        expected = _times_derivative(act, delta, z, expected_a)
        a = value_into(act, z, z)  # scikit-learn's in-place forward: z is gone
        assert a is z
        by_method = act.multiply_derivative(None, a, delta.copy())
        by_helper = multiply_derivative(act, a, a, delta.copy())  # z is a: treated as None
    np.testing.assert_array_equal(a, expected_a)
    for got in (by_method, by_helper):
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
    np.testing.assert_array_equal(a, expected_a)  # a left alone


def test_derivative_needing_z_refuses_none():
    a = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="Softplus needs the pre-activations z for its "
                                         r"derivative \(derivative_from_value is False\)"):
        multiply_derivative(ACTIVATIONS["softplus"](), None, a, np.ones(2))


# ------------------------------------------------ malformed activations (issue 18, item 5)
X_SMALL = np.random.RandomState(0).rand(30, 3)
Y_SMALL = np.arange(30) % 2


def test_every_registered_parameter_has_a_constraint():
    for name, cls in ACTIVATIONS.items():
        assert set(cls._get_param_names()) == set(cls._parameter_constraints), name


@pytest.mark.parametrize("activation, message", [
    (ACTIVATIONS["elu"](alpha="x"), r"The 'alpha' parameter of ELU must be a float in the "
                                    r"range \[0.0, inf\). Got 'x' instead"),
    (ACTIVATIONS["elu"](alpha=np.nan), "The 'alpha' parameter of ELU must be"),
    (LeakyReLU(alpha=np.inf), "The 'alpha' parameter of LeakyReLU must be"),
    (LeakyReLU(alpha=-0.1), r"The 'alpha' parameter of LeakyReLU must be .* Got -0.1"),
])
def test_builtin_parameters_are_validated_when_the_estimator_resolves_them(activation, message):
    clf = MLPClassifier(activation=activation, hidden_layer_sizes=(4,), max_iter=2)
    with pytest.raises(InvalidParameterError, match=message):
        clf.fit(X_SMALL, Y_SMALL)
    assert not hasattr(clf, "coefs_")
    with pytest.raises(InvalidParameterError, match=message):
        get_activation(activation)


@pytest.mark.parametrize("factor", [-1.0, 0.0, np.nan, np.inf, "6"])
def test_init_factor_must_be_finite_and_positive(factor):
    bad = type("BadFactor", (ACTIVATIONS["relu"],), {"init_factor": factor})
    with pytest.raises(InvalidParameterError,
                       match=r"init_factor of the activation BadFactor must be a finite number "
                             rf"> 0 .*; got {re.escape(repr(factor))}\."):
        MLPClassifier(activation=bad(), hidden_layer_sizes=(4,), max_iter=2).fit(
            X_SMALL, Y_SMALL)


class ShapeAfterProbe(Activation):
    """Right shape on the estimator's 2-row probe, a wrong one on real batches."""

    def __init__(self, broken="value"):
        self.broken = broken

    def value(self, z):
        return z[:, :1] if self.broken == "value" and z.shape[0] != 2 else np.tanh(z)

    def derivative(self, z, a):
        if self.broken == "derivative" and z.shape[0] != 2:
            return np.ones(z.shape[1])  # would broadcast silently into delta
        return 1 - a * a


@pytest.mark.parametrize("broken, got", [
    ("value", r"an array of shape \(30, 1\) and dtype float64 for an array of shape \(30, 4\)"),
    ("derivative", r"an array of shape \(4,\) and dtype float64 for an array of shape \(30, 4\)"),
])
def test_output_shape_changing_after_the_probe_names_activation_and_method(broken, got):
    clf = MLPClassifier(activation=ShapeAfterProbe(broken), hidden_layer_sizes=(4,),
                        solver="lbfgs", max_iter=2)
    with pytest.raises(TypeError, match=rf"ShapeAfterProbe.{broken} returned {got}"):
        clf.fit(X_SMALL, Y_SMALL)
    assert not hasattr(clf, "coefs_")


def test_shape_check_accepts_the_derivative_from_the_value_alone():
    """A user class with derivative_from_value=True gets z=None in the backward pass; it
    trains exactly as the built-in it copies."""
    z_is_none = []

    class MyTanh(Activation):
        derivative_from_value = True

        def value(self, z):
            return np.tanh(z)

        def derivative(self, z, a):
            z_is_none.append(z is None)  # None when the forward pass wrote a over z
            return 1 - a**2

    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = MLPClassifier(activation=MyTanh(), **params).fit(X_SMALL, Y_SMALL)
        builtin = MLPClassifier(activation="tanh", **params).fit(X_SMALL, Y_SMALL)
    assert any(z_is_none)
    np.testing.assert_array_equal(mine.loss_curve_, builtin.loss_curve_)
