"""What training carries from one fit or partial_fit call to the next.

:class:`TrainingState` holds the counters the estimators publish, the optimiser
kept for ``partial_fit``, the offset scheme and the recorder; every field is
there from the start. The stopping rule's counters and the best weights seen
belong to :class:`EarlyStopping`, the one object that changes them.
"""

import numpy as np

__all__ = ["EarlyStopping", "TrainingState", "arrays_with_offsets"]


def arrays_with_offsets(net):
    """Every parameter array: weights, intercepts, offsets (for snapshots)."""
    return net.coefs + net.intercepts + [b for b in net.offsets if b is not None]


class EarlyStopping:
    """scikit-learn's stopping rule for sgd and adam, and the best weights it has seen.

    Without a validation set an epoch improves when its training loss is at
    most ``best_loss - tol``; with one (``early_stopping=True``) when its score
    is at least ``best_validation_score + tol`` (NaN never improves). Training
    stops once more than ``n_iter_no_change`` epochs in a row did not improve.

    Parameters
    ----------
    validation : bool
        Whether held-out scores decide (``early_stopping=True``).

    Attributes
    ----------
    no_improvement_count : int
    best_loss : float or None
        The lowest training loss; None with a validation set.
    validation_scores : list of float or None
        The score of every epoch; None without a validation set.
    best_validation_score : float or None
        None without a validation set.
    validation_loss_curve : list of float or None
        The held-out split's loss after every epoch (one batch, the L2 penalty
        included, as in ``loss_curve``), appended by the loop; None without a
        validation set.

    Examples
    --------
    >>> from centered_nn._training.state import EarlyStopping
    >>> rule = EarlyStopping(validation=False)
    >>> for loss in [1.0, 0.5, 0.49999, 0.6]:
    ...     rule.update_loss(loss, tol=1e-4)
    >>> rule.best_loss, rule.no_improvement_count
    (0.49999, 2)
    """

    def __init__(self, validation):
        self.validation = validation
        self.no_improvement_count = 0
        self.best_loss = None if validation else np.inf
        self.validation_scores = [] if validation else None
        self.best_validation_score = -np.inf if validation else None
        self.validation_loss_curve = [] if validation else None
        self._best = None  # parameter copies at the best score, during one call

    def for_call(self, validation):
        """The rule for a call with or without a validation set: this one, or a fresh
        one when ``early_stopping`` changed since the last call (warm_start), since
        the other mode's counters mean nothing here."""
        return self if validation == self.validation else EarlyStopping(validation)

    def begin(self, net):
        """Start a call: under warm_start the weights in hand are the best so far."""
        self._best = None
        if self.validation and self.best_validation_score > -np.inf:
            self._best = _snapshot(net)

    def update_loss(self, loss, tol):
        """Count an epoch's training loss."""
        if loss > self.best_loss - tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if loss < self.best_loss:
            self.best_loss = loss

    def update_score(self, value, tol, net):
        """Count an epoch's validation score; keep the weights of the best."""
        self.validation_scores.append(value)
        if not value >= self.best_validation_score + tol:  # NaN: no improvement
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if value > self.best_validation_score:
            self.best_validation_score = value
            self._best = _snapshot(net)

    def stalled(self, n_iter_no_change):
        """Whether more than `n_iter_no_change` epochs in a row did not improve."""
        return self.no_improvement_count > n_iter_no_change

    def restart_count(self):
        """The adaptive schedule lowered the learning rate: count afresh."""
        self.no_improvement_count = 0

    def restore_best(self, net):
        """Put the best weights seen back into `net`; True if there were any."""
        best, self._best = self._best, None
        if best is None:
            return False
        for current, saved in zip(arrays_with_offsets(net), best):
            np.copyto(current, saved)
        return True

    def skip(self, n_iterations):
        """Iterations trained without the validation split (L-BFGS under warm_start) get
        NaN in the validation lists, which so stay aligned with ``loss_curve``; lists
        with no entry yet (no epoch validated) stay empty."""
        if self.validation_scores:
            self.validation_scores.extend([np.nan] * n_iterations)
            self.validation_loss_curve.extend([np.nan] * n_iterations)

    def published(self):
        """``{name: value}`` of what the estimators publish with a trailing underscore."""
        return {"best_loss": self.best_loss, "validation_scores": self.validation_scores,
                "best_validation_score": self.best_validation_score,
                "validation_loss_curve": self.validation_loss_curve}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_best"] = None  # only meaningful inside a call
        return state


def _snapshot(net):
    return [p.copy() for p in arrays_with_offsets(net)]


class TrainingState:
    """What training carries from one fit or partial_fit call to the next.

    Parameters
    ----------
    offsets : OffsetScheme
        The scheme that sets the per-input offsets.
    early_stopping : bool
        The estimator's ``early_stopping`` at the first fit.

    Attributes
    ----------
    n_iter, t, loss, loss_curve
        Published by the estimator as ``n_iter_``, ``t_``, ... (scikit-learn's meaning).
    stopping : EarlyStopping
        The stopping rule of sgd and adam (its values published for those solvers).
    optimizer : SGD, Adam or None
        Kept for partial_fit.
    recorder : GradientSignRecorder or None
    paused_history : dict or None
        The recorder's history while a call records nothing (warm_start or
        partial_fit with ``record_gradient_signs=False``), kept for a later call
        that records again; None otherwise.
    callbacks : object or None
        During a fit with callbacks set, the estimator's run of them (see
        ``_estimators/callbacks.py``): the loops report each epoch or L-BFGS
        iteration to it. None otherwise, and between calls.
    """

    def __init__(self, offsets, early_stopping):
        self.offsets = offsets
        self.n_iter = 0
        self.t = 0
        self.loss = None
        self.loss_curve = []
        self.stopping = EarlyStopping(early_stopping)
        self.optimizer = None
        self.recorder = None
        self.paused_history = None
        self.callbacks = None

    def observers(self):
        """What watches this call's training (see :mod:`.observers`): the recorder and
        the callbacks' run, None where absent."""
        return [self.recorder, self.callbacks]

    def published(self, stochastic):
        """``{name: value}`` the estimator publishes with a trailing underscore.

        The stopping rule's values only for sgd and adam, as scikit-learn has them,
        except the validation lists of earlier early-stopping epochs, which an L-BFGS
        call under warm_start pads with NaN (:meth:`EarlyStopping.skip`).
        """
        values = {"n_iter": self.n_iter, "t": self.t, "loss": self.loss,
                  "loss_curve": self.loss_curve}
        if stochastic:
            values.update(self.stopping.published())
        elif self.stopping.validation_scores:  # earlier epochs' lists, padded to align
            values.update({name: self.stopping.published()[name]
                           for name in ("validation_scores", "validation_loss_curve")})
        return values
