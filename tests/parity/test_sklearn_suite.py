"""scikit-learn's own MLP test suite, run against centered_nn's two estimators.

The installed ``sklearn/neural_network/tests/test_mlp.py`` is read at collection
time, its import of scikit-learn's MLPClassifier and MLPRegressor is swapped for
ours, and every test function it defines is collected here, except those in
:data:`EXCLUDED`: six that reach into scikit-learn's private attributes and
one that asserts scikit-learn's NaN model after a diverging fit.
"""

import importlib.util
import re
import types
from pathlib import Path

import pytest

import sklearn

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: Tests left out, with the private scikit-learn attribute each one reads or sets.
EXCLUDED = {
    "test_fit": "sets _coef_grads, _intercept_grads, _coef_velocity and calls _backprop",
    "test_gradient": "calls the private _loss_grad_lbfgs",
    "test_learning_rate_warmstart": "reads _optimizer.learning_rate",
    "test_adaptive_learning_rate": "reads _optimizer.learning_rate",
    "test_n_iter_no_change": "reads _no_improvement_count",
    "test_n_iter_no_change_inf": "reads _no_improvement_count",
    # Not private, but contrary to this package's contract (API.md, "When a fit fails"):
    "test_mlp_diverging_loss": "asserts that a diverging fit returns NaN validation scores; "
                               "here it raises a ValueError naming the learning rate "
                               "(tests/estimators/test_robustness.py runs the same fit)",
}


def _load_suite():
    text = SOURCE.read_text()
    assert text.count(IMPORT) == 1, "scikit-learn's test module changed its import"
    text = text.replace(IMPORT, "from centered_nn import MLPClassifier, MLPRegressor")
    module = types.ModuleType("sklearn_test_mlp_on_centered_nn")
    module.__file__ = str(SOURCE)
    exec(compile(text, str(SOURCE), "exec"), module.__dict__)
    return module


_SUITE = _load_suite()
_NAMES = [name for name in vars(_SUITE) if re.match(r"test_", name)]

for _name in _NAMES:
    if _name not in EXCLUDED:
        globals()[_name] = getattr(_SUITE, _name)


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture at its default value (SKLEARN_TESTS_GLOBAL_RANDOM_SEED unset)."""
    return 42


def test_the_suite_is_collected_with_our_estimators():
    from centered_nn import MLPClassifier, MLPRegressor

    assert _SUITE.MLPClassifier is MLPClassifier and _SUITE.MLPRegressor is MLPRegressor
    assert set(EXCLUDED) <= set(_NAMES)
    assert len(_NAMES) - len(EXCLUDED) >= 35
