"""The printed table and sentences of ``centered-nn compare``, on hand-made rows."""

import re

import pytest

from centered_nn.cli.parser import TASKS
from centered_nn.cli.table import WIDTH, _speedup, columns, format_table, sentence


class _Figure:
    def __init__(self, *summary):
        self.summary = summary


FIGURES = {"test_score": _Figure("mean", "std"), "epochs_to_target": _Figure("mean", "std"),
           "seconds_to_target": _Figure("mean"), "reached": _Figure(),
           "sample_same_sign_fraction": _Figure("mean")}


def _row(setup, vs, speedup=float("nan"), interval=(None, None), fastest=1.0, top=3.0,
         diverged=(), stalled=(), epochs=5.0):
    return {"setup": setup, "activation": "relu", "fastest_rate": fastest,
            "highest_trainable_rate": top, "diverged_rates": list(diverged),
            "stalled_rates": list(stalled), "speedup": speedup,
            "speedup_interval": list(interval), "vs_reference": vs,
            "test_score_mean": 0.9353, "test_score_std": 0.0131,
            "epochs_to_target_mean": epochs, "epochs_to_target_std": 0.5,
            "seconds_to_target_mean": 0.25, "sample_same_sign_fraction_mean": 0.0}


REFERENCE = _row("raw", "reference", 1.0, (1.0, 1.0), fastest=0.3, top=0.3,
                 stalled=(0.03, 0.1, 1.0), diverged=(3.0,), epochs=30.0)


def _sliced(table):
    """(headers, rows of cells): each line cut at the column spans of the dashed rule."""
    lines = table.splitlines()
    spans = [m.span() for m in re.finditer(r"-+", lines[2])]
    cut = [[line[a:b].strip() for a, b in spans] for line in lines]
    headers = [" ".join(filter(None, words)) for words in zip(*cut[:2])]
    return headers, cut[3:]


def test_columns_use_the_api_words_and_fit_120_columns():
    rows = [REFERENCE, _row("centerer", "faster", 2.4213, (2.1, 2.8), stalled=(0.03,)),
            _row("learned", "no clear difference", 0.95, (0.81, 1.1), fastest=0.3, top=0.3,
                 diverged=(1.0, 3.0), stalled=(0.03, 0.1)),
            _row("gc", "not reached", fastest=None, top=None, epochs=None)]
    rows[3]["epochs_to_target_mean"] = rows[3]["epochs_to_target_std"] = None
    table = format_table(rows, columns(TASKS["classification"], FIGURES))
    lines = table.splitlines()
    assert max(map(len, lines)) <= WIDTH
    headers, cells = _sliced(table)
    assert headers == ["setup", "fastest rate", "epochs to target", "speedup [95% interval]",
                       "vs reference", "trainable up to", "diverged or stalled", "cv accuracy",
                       "L0 sample same-sign"]
    assert cells[0] == ["raw", "0.3", "30.0 ± 0.5", "-", "reference", "0.3",
                        "diverged at 3", "0.935", "0.000"]
    # the long cell continues on the next lines, in its own column
    assert cells[1] == ["", "", "", "", "", "", "stalled at 0.03,", "", ""]
    assert cells[2] == ["", "", "", "", "", "", "0.1, 1", "", ""]
    del cells[1:3]
    assert cells[1] == ["centerer", "1", "5.0 ± 0.5", "2.42 [2.10–2.80]", "faster", "3",
                        "stalled at 0.03", "0.935", "0.000"]
    assert cells[2][3:7] == ["0.95 [0.81–1.10]", "no clear difference", "0.3",
                             "diverged at 1, 3"]
    assert [cells[3][6], cells[4][6]] == ["stalled at 0.03,", "0.1"]
    assert cells[-1] == ["gc", "-", "-", "-", "not reached", "-", "-", "0.935", "0.000"]


def test_wide_table_adds_every_summarised_figure():
    table = format_table([REFERENCE], columns(TASKS["regression"], FIGURES, wide=True))
    headers, (row,) = _sliced(table)
    assert headers == ["setup", "fastest rate", "speedup [95% interval]", "vs reference",
                       "trainable up to", "diverged at", "stalled at", "cv R²",
                       "epochs to target", "seconds to target", "sample same sign fraction"]
    assert row == ["raw", "0.3", "-", "reference", "0.3", "3", "0.03, 0.1, 1",
                   "0.9353 ± 0.0131", "30 ± 0.5", "0.25", "0"]


@pytest.mark.parametrize("row, said, not_said", [
    (_row("mean", "faster", 2.7, (2.31, 3.12)),
     "mean reaches raw's loss 2.70x faster (95% interval 2.31–3.12), trains at rates up to 3",
     "slower"),
    # an interval straddling 1 is no difference, whatever the point estimate says
    (_row("batch", "no clear difference", 1.8, (0.9, 3.6)),
     "batch: no clear difference (1.80x, 95% interval 0.90–3.60 includes 1)", "faster"),
    # a setup that stalls never reaches the reference's loss: no speed is claimed
    (_row("learned", "not reached", fastest=1.0, top=None, stalled=(0.03, 0.1, 0.3)),
     "learned does not reach raw's loss at any rate ('not reached')", "x"),
    (_row("gc", "slower", 0.6, (0.5, 0.72)),
     "gc is slower: 0.60x as fast to raw's loss (95% interval 0.50–0.72)", "faster"),
    # one run: no interval, and so no verdict
    (_row("mean", "no clear difference", 3.0, (None, None)),
     "mean: no clear difference (3.00x on one run, no interval)", "faster"),
])
def test_sentence_says_no_more_than_the_interval(row, said, not_said):
    text = sentence("relu", [REFERENCE, row])
    assert text.startswith("relu (raw trains at rates up to 0.3): ") and said in text
    assert text.endswith(".") and text.count(";") == 0
    assert not_said not in text.replace(said, "")


def test_sentence_joins_setups_and_names_the_reference_once():
    text = sentence("tanh", [REFERENCE, _row("mean", "faster", 6.0, (5.0, 7.2)),
                             _row("centerer", "faster", 12.345, (10.0, 15.0), top=1.0)])
    assert text == ("tanh (raw trains at rates up to 0.3): mean reaches raw's loss 6.00x faster "
                    "(95% interval 5.00–7.20), trains at rates up to 3; centerer reaches it "
                    "12.3x faster (95% interval 10.0–15.0), trains at rates up to 1.")


def test_sentence_when_the_reference_does_not_train():
    reference = dict(REFERENCE, highest_trainable_rate=None)
    assert sentence("relu", [reference, _row("mean", "not reached")]) == (
        "relu: raw trains at no rate: nothing to compare with.")


def test_the_reference_loss_is_named_before_it_is_called_it():
    text = sentence("relu", [REFERENCE, _row("gc", "no clear difference", 1.0, (0.9, 1.1)),
                             _row("mean", "faster", 2.0, (1.8, 2.5)),
                             _row("batch", "slower", 0.5, (0.4, 0.6))])
    assert "mean reaches raw's loss 2.00x faster" in text
    assert "batch is slower: 0.50x as fast (95% interval" in text
    assert text.index("raw's loss") < text.index("as fast")


def test_an_unbounded_interval_is_said_as_such():
    """A reference that misses a given --target-loss: the speedup is NaN, the interval's
    high end infinite; the setup is faster by at least the low end, no more is claimed."""
    row = _row("mean", "faster", float("nan"), (1.2, float("inf")))
    assert _speedup(row) == "- [1.20–∞]"
    # the JSON-ready row says None for the infinite end
    assert _speedup(dict(row, speedup=None, speedup_interval=[1.2, None])) == "- [1.20–∞]"
    reference = dict(REFERENCE, highest_trainable_rate=None)
    text = sentence("relu", [reference, row, _row("gc", "not reached")], given=True)
    assert text == ("relu (raw reaches the target loss at no rate): mean reaches the target "
                    "loss faster (95% interval 1.20–∞), trains at rates up to 3; gc does not "
                    "reach the target loss at any rate ('not reached').")
