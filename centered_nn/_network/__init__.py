"""The network's arithmetic in plain numpy and scipy: no scikit-learn estimator here.

:mod:`.network` (forward, backward, :class:`~.network.Network`), :mod:`.output`
(the output layers, each pairing its function, loss and gradient), :mod:`.offsets`
(the offset schemes behind ``input_bias``) and :mod:`.activation_calls` (how the
two passes call a hidden activation's fast methods).
"""
