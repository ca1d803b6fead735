"""A training loss that is not finite ends the fit: the error and its likely cause."""

import numpy as np

from ..exceptions import DivergenceError
from .state import arrays_with_offsets

__all__ = ["DivergedLoss", "NonFiniteLoss", "nonfinite_cause", "nonfinite_loss"]

#: How each kind of cause opens the message (the "step" one is scikit-learn's).
_OPENINGS = {
    "step": "Solver produced non-finite parameter weights. The input data may contain large "
            "values and need to be preprocessed. The training loss became non-finite {where}",
    "activation": "The training loss became non-finite {where}",
    "target": "The training loss became non-finite: the loss overflowed {where} with finite "
              "parameter weights and outputs",
}


class NonFiniteLoss(ValueError):
    """The training loss became non-finite; raised where the loop sees it.

    Parameters
    ----------
    kind : {'step', 'activation', 'target'}
        What went wrong: steps too large for the data's scale, an activation
        returning non-finite values, or a loss that overflows on the targets.
    cause : str
        The likely cause, with what the user can change.
    where : str
        When, e.g. ``'in epoch 3'``.

    Examples
    --------
    >>> from centered_nn._training.failures import NonFiniteLoss
    >>> print(NonFiniteLoss("activation", "the activation returned NaN", "in epoch 2"))
    The training loss became non-finite in epoch 2; the activation returned NaN.
    """

    def __init__(self, kind, cause, where):
        self.kind = kind
        self.cause = cause
        self.where = where
        super().__init__(f"{_OPENINGS[kind].format(where=where)}; {cause}.")

    def __reduce__(self):
        # the default rebuilds from self.args (the message alone), which __init__ cannot
        # take: a fit failing in a joblib worker would then fail again in the parent
        return type(self), (self.kind, self.cause, self.where)


class DivergedLoss(NonFiniteLoss, DivergenceError):
    """A non-finite loss caused by the steps (kind 'step'): the fit diverged.

    The public type to catch is :class:`centered_nn.exceptions.DivergenceError`.
    """


def nonfinite_loss(kind, cause, where):
    """The error for a non-finite loss: :class:`DivergedLoss` when the steps caused it
    (kind 'step'), else a plain :class:`NonFiniteLoss` (not a divergence)."""
    return (DivergedLoss if kind == "step" else NonFiniteLoss)(kind, cause, where)


def nonfinite_cause(net, X, Y, settings):
    """``(kind, cause)``: why the loss on ``(X, Y)`` is not finite (see :class:`NonFiniteLoss`).

    An activation that returns non-finite values for finite input is named;
    a loss that overflows with finite parameters and outputs, on targets at
    least as large as the outputs, is the targets' scale; anything else is
    put down to steps too large for the data, with what the solver offers
    against them.
    """
    inputs, pre = net.forward(X, keep_pre=True)
    for z, a in zip(pre, inputs[1:]):
        if np.isfinite(z).all() and not np.isfinite(a).all():
            return "activation", (f"the activation {type(net.activation).__name__} returned "
                                  "non-finite values for finite input")
    P = inputs[-1]
    finite = all(np.isfinite(p).all() for p in arrays_with_offsets(net)) and np.isfinite(P).all()
    largest_target = float(np.max(np.abs(Y), initial=0.0))
    # the data term itself overflows (not the L2 penalty of huge but finite weights, which
    # is the classifier's way to overflow: its targets are never larger than its outputs'
    # range, yet a step too large makes the weights' squares overflow)
    with np.errstate(all="ignore"):
        data_loss_overflows = finite and not np.isfinite(net.output.loss(Y, P, None))
    if data_loss_overflows and np.isfinite(largest_target) \
            and largest_target >= np.max(np.abs(P), initial=0):
        return "target", (f"the targets are as large as {largest_target:.3g}, too large for "
                          "the loss; scale y (e.g. with sklearn.compose."
                          "TransformedTargetRegressor and a StandardScaler)")
    if not settings.stochastic:
        return "step", ("the input's scale overflows the loss, or L-BFGS (which has no "
                        "learning rate) stepped too far; scale the input, raise alpha, or lower "
                        "max_iter")
    return "step", (f"the learning rate may be too large (learning_rate_init="
                    f"{settings.learning_rate_init!r}); try a smaller one or scale the input")
