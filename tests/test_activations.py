import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from centered_nn import MLPClassifier
from centered_nn.activations import ACTIVATIONS, Activation, LeakyReLU, get_activation


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
