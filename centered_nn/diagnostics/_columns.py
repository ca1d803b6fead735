"""The recorder's metric names, and the column each has in an array of per-step values.

Arrays holding several metrics' values for several steps (the kept steps'
summaries, see :mod:`._kept_steps`) have one column per metric, addressed by
name through :data:`COLUMN`, never by a number written in the code.
"""

#: The metrics the recorder computes, in their canonical order (that of its history).
METRICS = ("same_sign_fraction", "sample_same_sign_fraction", "sign_flip_fraction",
           "input_mean", "positive_input_fraction")

#: Metric name -> its column in an array of per-step values of shape (n_steps, len(METRICS)).
COLUMN = {name: column for column, name in enumerate(METRICS)}
