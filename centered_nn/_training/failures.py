"""A training loss that is not finite ends the fit: the error and its likely cause."""

import numpy as np

__all__ = ["NonFiniteLoss", "nonfinite_cause"]


class NonFiniteLoss(ValueError):
    """The training loss became non-finite; raised where the loop sees it.

    Parameters
    ----------
    cause : str
        The likely cause, with what the user can change.
    where : str
        When, e.g. ``'in epoch 3'``.
    """

    def __init__(self, cause, where):
        self.cause = cause
        self.where = where
        super().__init__(
            "Solver produced non-finite parameter weights. The input data may contain large "
            f"values and need to be preprocessed. The training loss became non-finite {where}; "
            f"{cause}."
        )


def nonfinite_cause(net, X, settings):
    """Why a forward pass on X gives a non-finite loss: the activation, or the step size."""
    inputs, pre = net.forward(X, keep_pre=True)
    for z, a in zip(pre, inputs[1:]):
        if np.isfinite(z).all() and not np.isfinite(a).all():
            return (f"the activation {type(net.activation).__name__} returned non-finite "
                    "values for finite input")
    return (f"the learning rate may be too large (learning_rate_init="
            f"{settings.learning_rate_init!r}); try a smaller one or scale the input")
