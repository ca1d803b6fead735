"""The one channel between the training loops and whatever watches them.

The loops announce events; any number of observers listen (skorch's
``notify``): the gradient-sign recorder, the run of scikit-learn callbacks. An
observer defines the hooks it needs, each optional:

- ``on_fit_begin(X, first_offset, rows_recur)``: a call starts on the training
  input X, whose first layer has the offset `first_offset`; ``rows_recur``: the
  steps revisit X's rows (``step.rows``) with that offset fixed;
- ``on_iteration_begin(net, state)``: an epoch or L-BFGS iteration begins;
- ``on_step(step)``: one update step's backward pass, every layer at once (a
  :class:`~centered_nn._network.network.BackwardStep`: inputs, offsets, deltas,
  the weight gradients' data terms, sample weights, rows), before the optimiser
  uses it; the arrays are the loop's, to read during the call only. When it is
  the only observer of steps (:attr:`Observers.sole_step_observer`), it may take
  a layer's penalty pass (``step.take_penalty(layer)``): it then reads that
  layer's data term from what ``take_penalty`` returns and turns it into the
  gradient in its own pass over it, bit for bit as the loop would have;
- ``on_row_steps(inputs, deltas)``: several one-row steps at once, for a loop that
  runs many without announcing each (``batch_size=1``, no offsets, no
  centralization): ``inputs[l]``/``deltas[l]`` hold one row per step of weight
  matrix l's input and delta, the gradient being their outer product. Such a
  loop may run only when every observer of steps has this hook
  (:attr:`Observers.takes_row_steps`);
- ``on_row_summaries(summaries)``: the same for a compiled loop that summarises
  the steps itself (a :class:`~.row_epoch.RowSummaries`: each exact step's sign
  counts, input sums and flip fractions); a step it cannot summarise comes
  through ``on_step``. Such a loop may run only when every observer of steps
  says it takes them (its ``takes_row_summaries`` is true:
  :attr:`Observers.takes_row_summaries`);
- ``on_discard()``: the steps since the last iteration's end do not count (an
  L-BFGS line-search trial, or an epoch cut short by Ctrl-C);
- ``on_iteration_end(net, state)``: the iteration ended (its loss is in
  ``state.loss_curve``); a true return asks training to stop;
- ``on_fit_end()``: the call's loop is over (also after an error).

The loops know no observer by type; observers do not change a trajectory.
"""

HOOKS = ("on_fit_begin", "on_iteration_begin", "on_step", "on_row_steps", "on_row_summaries",
         "on_discard", "on_iteration_end", "on_fit_end")


class Observers:
    """The observers of one fit call, and the hooks each defines.

    Parameters
    ----------
    observers : iterable
        Objects defining some of :data:`HOOKS`; None entries are skipped.

    Examples
    --------
    >>> from centered_nn._training.observers import Observers
    >>> class Count:
    ...     steps = 0
    ...     def on_step(self, step):
    ...         self.steps += 1
    >>> counter = Count()
    >>> observers = Observers([counter, None])
    >>> observers.on_step(object()); observers.on_discard()
    >>> counter.steps, observers.watches_steps, observers.sole_step_observer
    (1, True, True)
    """

    def __init__(self, observers):
        observers = [o for o in observers if o is not None]
        #: Whether every observer of steps also takes one-row steps in blocks.
        self.takes_row_steps = all(hasattr(o, "on_row_steps") for o in observers
                                   if hasattr(o, "on_step"))
        #: Whether every observer of steps takes summaries of one-row steps.
        self.takes_row_summaries = all(getattr(o, "takes_row_summaries", False)
                                       for o in observers if hasattr(o, "on_step"))
        self._hooks = {hook: tuple(getattr(o, hook) for o in observers if hasattr(o, hook))
                       for hook in HOOKS}
        #: Whether any observer looks at the steps (else the loops need not announce them).
        self.watches_steps = bool(self._hooks["on_step"])
        #: Whether exactly one observer looks at the steps: no other sees what it does
        #: to them, so it may take their penalty passes (``BackwardStep.take_penalty``).
        self.sole_step_observer = len(self._hooks["on_step"]) == 1

    def on_fit_begin(self, X, first_offset, rows_recur):
        for hook in self._hooks["on_fit_begin"]:
            hook(X, first_offset, rows_recur)

    def on_iteration_begin(self, net, state):
        for hook in self._hooks["on_iteration_begin"]:
            hook(net, state)

    def on_step(self, step):
        for hook in self._hooks["on_step"]:
            hook(step)

    def on_row_steps(self, inputs, deltas):
        for hook in self._hooks["on_row_steps"]:
            hook(inputs, deltas)

    def on_row_summaries(self, summaries):
        for hook in self._hooks["on_row_summaries"]:
            hook(summaries)

    def on_discard(self):
        for hook in self._hooks["on_discard"]:
            hook()

    def on_iteration_end(self, net, state):
        """Every observer hears of it; True when one of them asks to stop."""
        stop = False
        for hook in self._hooks["on_iteration_end"]:
            stop = bool(hook(net, state)) or stop
        return stop

    def on_fit_end(self):
        for hook in self._hooks["on_fit_end"]:
            hook()
