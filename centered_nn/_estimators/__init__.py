"""The estimators: the shared base (:mod:`.base`), :class:`.classifier.MLPClassifier`,
:class:`.regressor.MLPRegressor` and their shared docstrings (:mod:`.docs`).

The public names are re-exported by :mod:`centered_nn`.
"""
