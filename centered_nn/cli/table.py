"""What ``centered-nn compare`` prints: the table per activation and one sentence each.

Pure formatting of the rows that :mod:`.compare` builds from each study's
summary (JSON-ready values: None where a figure is NaN). Every printed line
fits :data:`WIDTH` columns: long cells wrap inside their column, sentences
wrap as text.
"""

import math
import textwrap
from dataclasses import dataclass
from typing import Callable

#: the terminal width every printed line fits
WIDTH = 120
#: columns are separated by this many spaces
GAP = 2


@dataclass(frozen=True)
class Column:
    """One table column: its header ("\\n" splits it over lines), its cell, its alignment.

    ``wrap`` marks a column whose cells may wrap over lines when the table is
    wider than :data:`WIDTH`.
    """

    header: str
    cell: Callable[[dict], str]
    left: bool = False
    wrap: bool = False


def rate(value):
    """A learning rate as the grid writes it; '-' for none."""
    return "-" if value is None else format(value, "g")


def rates(values):
    """Rates as 'a, b, c'."""
    return ", ".join(rate(v) for v in values)


def ratio(value):
    """A speedup: two decimals below 10, one below 100, none above; '∞' for an unbounded
    interval's end (a reference that misses a given target), '-' for none."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞"
    return format(value, ".2f" if value < 10 else ".1f" if value < 100 else ".0f")


def interval(low, high):
    """'low–high'; '' when the interval is unknown (one run). A known low end without a
    high end (JSON has no infinity) is unbounded above: 'low–∞'."""
    if low is None:
        return ""
    return f"{ratio(low)}–{ratio(math.inf if high is None else high)}"


def _number(key, fmt, std=False):
    def cell(row):
        value = row[key]
        if value is None:
            return "-"
        text = format(value, fmt)
        spread = row.get(key[: -len("_mean")] + "_std") if std else None
        return text if spread is None else f"{text} ± {spread:{fmt}}"

    return cell


def setup_figures(title, rows, key, fmt):
    """``'title: setup value, ...'``: one summary figure of each row, '-' where missing."""
    cell = _number(key, fmt)
    return f"{title}: " + ", ".join(f"{row['setup']} {cell(row)}" for row in rows)


def _speedup(row):
    if row["vs_reference"] == "reference":
        return "-"
    low, high = row["speedup_interval"] or (None, None)
    span = interval(low, high)
    return ratio(row["speedup"]) + (f" [{span}]" if span else "")


def _outcomes(row):
    """The rates that diverged and those that stalled (neither trained nor diverged)."""
    parts = [f"{what} at {rates(row[key])}" for what, key in (
        ("diverged", "diverged_rates"), ("stalled", "stalled_rates")) if row[key]]
    return "; ".join(parts) or "-"


def _header(name):
    """A figure's name as a two-line header: 'epochs to target' -> 'epochs to\\ntarget'."""
    words = name.replace("_", " ").split()
    half = (len(words) + 1) // 2
    return " ".join(words[:half]) + ("\n" + " ".join(words[half:]) if words[half:] else "")


def columns(task, figures, wide=False):
    """The table's columns: the default set fits 120 columns; ``wide`` adds every figure
    of the study's registry `figures` (name -> StudyFigure) that the summary carries."""
    score = task.score_label.replace(" ", "\n", 1)
    verdict = (Column("speedup\n[95% interval]", _speedup),
               Column("vs\nreference", lambda row: row["vs_reference"], left=True),
               Column("trainable\nup to", lambda row: rate(row["highest_trainable_rate"])))
    start = (Column("setup", lambda row: row["setup"], left=True),
             Column("fastest\nrate", lambda row: rate(row["fastest_rate"])))
    if not wide:
        return (*start,
                Column("epochs to\ntarget", _number("epochs_to_target_mean", ".1f", std=True)),
                *verdict,
                Column("diverged or\nstalled", _outcomes, left=True, wrap=True),
                Column(score, _number("test_score_mean", ".3f")),
                Column("L0 sample\nsame-sign", _number("sample_same_sign_fraction_mean", ".3f")))
    return (*start, *verdict,
            Column("diverged\nat", lambda row: rates(row["diverged_rates"]) or "-"),
            Column("stalled\nat", lambda row: rates(row["stalled_rates"]) or "-"),
            *(Column(score if name == "test_score" else _header(name),
                     _number(f"{name}_mean", ".4g", std="std" in figure.summary))
              for name, figure in figures.items() if "mean" in figure.summary))


def _fit_widths(cells, columns, width):
    """Column widths; wrappable columns narrowed (not below their header) to fit `width`."""
    natural = [max(len(line) for row in cells for line in row[c]) for c in range(len(columns))]
    excess = sum(natural) + GAP * (len(columns) - 1) - width
    for c, column in enumerate(columns):
        if excess > 0 and column.wrap:
            floor = max(len(line) for line in cells[0][c])
            cut = min(excess, natural[c] - floor)
            natural[c] -= cut
            excess -= cut
    return natural


def _wrapped(text, width):
    """`text` over lines of at most `width`, each '; '-separated part starting a line of
    its own (the line break then separates them)."""
    return [line for part in text.split("; ")
            for line in textwrap.wrap(part, width, break_on_hyphens=False,
                                      break_long_words=False)]


def format_table(rows, columns, group=None, width=WIDTH):
    """Plain-text table: a two-line header, text left-aligned, numbers right-aligned.

    A wrappable column's long cells continue on the next lines of their row. With a
    `group` key, a line ``<key>=<value>`` starts the rows of each value of it.
    """
    cells = [[column.header.split("\n") for column in columns]]
    cells += [[[column.cell(row)] for column in columns] for row in rows]
    height = max(len(cell) for cell in cells[0])
    cells[0] = [[""] * (height - len(cell)) + cell for cell in cells[0]]
    widths = _fit_widths(cells, columns, width)
    lines, current = [], None
    for r, row in enumerate(cells):
        if r and group is not None and rows[r - 1][group] != current:
            current = rows[r - 1][group]
            lines.append(f"{group}={current}")
        for c, column in enumerate(columns):
            if r and column.wrap and len(row[c][0]) > widths[c]:
                row[c] = _wrapped(row[c][0], widths[c])
        for i in range(max(len(cell) for cell in row)):
            parts = [(cell[i] if i < len(cell) else "") for cell in row]
            lines.append((" " * GAP).join(text.ljust(w) if column.left else text.rjust(w)
                                          for text, w, column in zip(parts, widths, columns))
                         .rstrip())
        if r == 0:
            lines.append((" " * GAP).join("-" * w for w in widths))
    return "\n".join(lines)


def _clause(row, target, first):
    """What one setup's row says about reaching `target` against the reference, no further
    than its interval; `first` names the target, later speed clauses say 'it'."""
    name, verdict, speedup = row["setup"], row["vs_reference"], row["speedup"]
    low, high = row["speedup_interval"] or (None, None)
    span = interval(low, high)
    if verdict == "not reached":
        return f"{name} does not reach {target} at any rate ('not reached')"
    times = f"{ratio(speedup)}x " if speedup is not None and math.isfinite(speedup) else ""
    if verdict == "faster":
        text = f"{name} reaches {target if first else 'it'} {times}faster (95% interval {span})"
    elif verdict == "slower":
        to = f" to {target}" if first else ""
        text = f"{name} is slower: {times}as fast{to} (95% interval {span})"
    elif span:
        text = (f"{name}: no clear difference ({ratio(speedup)}x, 95% interval {span} "
                "includes 1)")
    else:
        text = f"{name}: no clear difference ({ratio(speedup)}x on one run, no interval)"
    top = row["highest_trainable_rate"]
    return text if top is None else f"{text}, trains at rates up to {rate(top)}"


def sentence(activation, rows, given=False):
    """One sentence: how each setup of `rows` (one activation) compares with the reference.

    Faster or slower only where the 95% interval of the speedup excludes 1;
    'no clear difference' and 'not reached' are said as such. The target is the
    reference's loss, or with `given` a target loss the user gave.
    """
    reference = next(row for row in rows if row["vs_reference"] == "reference")
    name, top = reference["setup"], reference["highest_trainable_rate"]
    if top is None and not given:
        return f"{activation}: {name} trains at no rate: nothing to compare with."
    target = "the target loss" if given else f"{name}'s loss"
    first = next((row for row in rows if row["vs_reference"] in ("faster", "slower")), None)
    clauses = [_clause(row, target, row is first) for row in rows if row is not reference]
    lead = (f"{activation} ({name} trains at rates up to {rate(top)})" if top is not None
            else f"{activation} ({name} reaches the target loss at no rate)")
    return f"{lead}: {'; '.join(clauses)}." if clauses else f"{lead}."


def wrap(text, width=WIDTH):
    """`text` wrapped to `width` columns, paragraphs kept."""
    return "\n".join(textwrap.fill(paragraph, width, break_on_hyphens=False,
                                   break_long_words=False) for paragraph in text.split("\n"))
