"""Training loops of MLPClassifier: offsets, minibatch SGD/Adam, L-BFGS.

Mixed into :class:`centered_nn.MLPClassifier`, whose fitted attributes these
methods read and write; the arithmetic itself lives in :mod:`._network` and
:mod:`._solvers`.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from . import _network
from ._solvers import SGD, Adam, minimize_lbfgs


class TrainingMixin:
    """Training loops shared by the estimator's fit and partial_fit."""

    def _offset_layers(self):
        if self.input_bias == "none":
            return set()
        n_matrices = self.n_layers_ - 1
        return {0} if self.input_bias_layers == "first" else set(range(n_matrices))

    def _place_offsets(self, X, sample_weight, first_pass, incremental):
        """Set the offsets that are not trained by the optimiser at the start of a call.

        'learned' with init 'center': b = -(weighted mean of each layer's input on
        this training data), layer after layer, on the first fit only.
        'mean': the first layer's b = -(exact weighted mean of X), streamed over
        partial_fit calls; with lbfgs, the hidden offsets are set from one full
        pass here (and re-centred after the optimisation). X is the training part.
        """
        config = (self.input_bias, self.input_bias_layers)
        if first_pass:
            self._offset_config = config
        elif config != self._offset_config:
            raise ValueError(
                f"input_bias={self.input_bias!r} and input_bias_layers="
                f"{self.input_bias_layers!r} differ from the previous fit "
                f"{self._offset_config}; they cannot change between warm_start or "
                "partial_fit calls. Refit from scratch (warm_start=False)."
            )
        if self.input_bias == "learned" and first_pass and self.input_bias_init == "center":
            tracker = _network.OffsetTracker(self._offset_layers(), 1.0)
            self._forward(X, tracker, sample_weight)
        if self.input_bias != "mean":
            return
        weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        mean = _network.weighted_mean(X, sample_weight)
        if incremental and 0 in self._offset_tracker.initialised:
            previous = -self.input_biases_[0]
            mean = (previous * self._offset_weight + mean * weight) / (self._offset_weight + weight)
            self._offset_weight += weight
        else:
            self._offset_weight = weight
        self._offset_tracker.set_mean(
            0, mean, self.coefs_[0], self.intercepts_[0], self.input_biases_[0], rate=1.0
        )
        self._offset_tracker.rate = self.input_bias_rate
        if self.solver == "lbfgs":
            self._centre_hidden_offsets(X, sample_weight)

    def _centre_hidden_offsets(self, X, sample_weight):
        """One full pass: move each tracked hidden offset to -(its input's mean on X).

        Moves of initialised offsets are compensated, so the function is unchanged.
        """
        full_pass = _network.OffsetTracker(self._offset_tracker.layers, 1.0)
        full_pass.initialised = self._offset_tracker.initialised  # shared, updated in place
        self._forward(X, full_pass, sample_weight)

    def _forward(self, X, tracker=None, sample_weight=None):
        return _network.forward(
            X, self.coefs_, self.intercepts_, self.input_biases_, self.activation_,
            self.out_activation_, tracker, sample_weight,
        )

    def _trainable(self):
        """Parameters the optimiser updates: weights, intercepts, learned offsets."""
        learned = self.input_biases_ if self.input_bias == "learned" else []
        return self.coefs_ + self.intercepts_ + [b for b in learned if b is not None]

    def _set_trainable(self, arrays):
        """Inverse of :meth:`_trainable`: put ``arrays`` in place of those parameters."""
        n = self.n_layers_ - 1
        self.coefs_, self.intercepts_ = list(arrays[:n]), list(arrays[n:2 * n])
        if self.input_bias == "learned":
            learned = iter(arrays[2 * n:])
            self.input_biases_ = [None if b is None else next(learned) for b in self.input_biases_]

    def _loss_and_grads(self, X, Y, sample_weight, tracker):
        """Loss and gradients (ordered as :meth:`_trainable`) on one batch."""
        inputs, pre = self._forward(X, tracker, sample_weight)
        sw_sum = X.shape[0] if sample_weight is None else sample_weight.sum()
        loss = _network.log_loss(Y, inputs[-1], self.out_activation_, sample_weight)
        loss += _network.l2_penalty(self.coefs_, self.alpha, sw_sum)
        learn = self.input_bias == "learned"
        coef_grads, intercept_grads, offset_grads = _network.backward(
            Y, sample_weight, inputs, pre, self.coefs_, self.input_biases_, self.activation_,
            self.alpha, learn_offsets=learn, recorder=self._recorder,
        )
        return loss, coef_grads + intercept_grads + [g for g in offset_grads if g is not None]

    def _snapshot_best(self):
        self._best_params = (
            [c.copy() for c in self.coefs_],
            [c.copy() for c in self.intercepts_],
            [None if b is None else b.copy() for b in self.input_biases_],
        )

    def _split_validation(self, X, Y, sample_weight, rng):
        """Hold out ``validation_fraction`` for early stopping, as scikit-learn does.

        Stratified for single-output targets; returns the training part and
        ``(X_val, y_val, sample_weight_val)`` with y_val decoded to labels.
        """
        stratify = Y if self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        split = train_test_split(
            *arrays, random_state=rng, test_size=self.validation_fraction, stratify=stratify
        )
        X_train, X_val, Y_train, Y_val = split[:4]
        sw_train, sw_val = split[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        y_val = self._label_binarizer.inverse_transform(Y_val.ravel() if self.n_outputs_ == 1 else Y_val)
        return X_train, Y_train, sw_train, (X_val, y_val, sw_val)

    def _fit_stochastic(self, X_train, Y_train, sw_train, validation, rng, incremental):
        params = self._trainable()
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = SGD(
                    params, self.learning_rate_init, self.learning_rate, self.momentum,
                    self.nesterovs_momentum, self.power_t,
                )
            else:
                self._optimizer = Adam(
                    params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
                )
        X_val, y_val, sw_val = validation if validation is not None else (None, None, None)
        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        order = np.arange(n_samples)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    rng.shuffle(order)
                accumulated_loss = 0.0
                for start in range(0, n_samples, batch_size):
                    stop = min(start + batch_size, n_samples)
                    rows = order[start:stop] if self.shuffle else slice(start, stop)
                    sw_batch = None if sw_train is None else sw_train[rows]
                    loss, grads = self._loss_and_grads(
                        X_train[rows], Y_train[rows], sw_batch, self._offset_tracker
                    )
                    accumulated_loss += loss * (stop - start)
                    self._optimizer.step(params, grads)
                self.n_iter_ += 1
                self.loss_ = accumulated_loss / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self._recorder is not None:
                    self._recorder.end_iteration()
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(X_val, y_val, sw_val)
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if self.early_stopping:
                        msg = (
                            "Validation score did not improve more than tol=%f for %d "
                            "consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f for %d "
                            "consecutive epochs." % (self.tol, self.n_iter_no_change)
                        )
                    if self._optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) reached and the "
                        "optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if self.early_stopping:
            self.coefs_, self.intercepts_, self.input_biases_ = self._best_params

    def _update_no_improvement_count(self, X_val, y_val, sw_val):
        if self.early_stopping:
            score = self._validation_score(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._snapshot_best()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _validation_score(self, X, y, sample_weight):
        proba = self._forward(X)[0][-1]
        if not np.isfinite(proba).all():
            return np.nan
        return accuracy_score(y, self._decode(proba), sample_weight=sample_weight)

    def _fit_lbfgs(self, X, Y, sample_weight):
        params = self._trainable()
        shapes = [p.shape for p in params]
        bounds = np.cumsum([0] + [p.size for p in params])
        dtype = X.dtype
        evaluated = {}

        def unpack(x):
            return [x[a:b].reshape(s) for a, b, s in zip(bounds[:-1], bounds[1:], shapes)]

        def loss_grad(x):
            self._set_trainable(unpack(x))
            if self._recorder is not None:
                self._recorder.discard_steps()
            loss, grads = self._loss_and_grads(X, Y, sample_weight, None)
            evaluated["x"] = x.copy()
            return loss, np.hstack([g.ravel() for g in grads])

        def on_iteration(x, loss):
            self.loss_curve_.append(float(loss))
            if self._recorder is not None:
                if not np.array_equal(x, evaluated["x"]):
                    loss_grad(x)
                self._recorder.end_iteration()
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (len(self.loss_curve_), loss))

        result = minimize_lbfgs(
            loss_grad, np.hstack([p.ravel() for p in params]), self.max_iter,
            self.max_fun, self.tol, on_iteration,
        )
        self.n_iter_ = min(result.nit, self.max_iter)
        if result.status != 0:
            msg = (
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}):\n{result.message}\n"
            )
            if self.n_iter_ == self.max_iter:
                msg += (
                    "\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={self.max_iter})."
                )
            warnings.warn(msg, ConvergenceWarning)
        self.loss_ = result.fun
        self._set_trainable([p.astype(dtype) for p in unpack(result.x)])  # copies
        if self._offset_tracker is not None:  # the fixed offsets went stale: re-centre
            self._centre_hidden_offsets(X, sample_weight)
