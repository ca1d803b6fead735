"""The network's arithmetic in plain numpy and scipy: no scikit-learn estimator here.

:mod:`.network` (forward, backward, :class:`~.network.Network`), :mod:`.output`
(the output layers, each pairing its function, loss and gradient) and
:mod:`.offsets` (the offset schemes behind ``input_bias``).
"""
