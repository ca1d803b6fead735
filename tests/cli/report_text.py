"""Reading the report ``centered-nn compare`` prints, for the tests (CLI and README)."""

import re


def table_lines(out):
    """The table's lines: from the header to the blank line after the rows."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-", " "}) - 2
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def table_rows(out):
    """The rows of the printed table as dicts {header: cell}, plus 'activation'.

    Columns are cut at the spans of the dashed rule; a wrapped cell's continuation
    lines (those with an empty first column) are joined to it as the table wrapped it.
    """
    lines = table_lines(out)
    spans = [m.span() for m in re.finditer(r"-+", lines[2])]
    headers = [" ".join(filter(None, (line[a:b].strip() for line in lines[:2])))
               for a, b in spans]
    rows, activation = [], None
    for line in lines[3:]:
        if line.startswith("activation="):
            activation = line.split("=", 1)[1]
            continue
        cells = [line[a:b].strip() for a, b in spans]
        # the last column may run past the rule when a cell is wider than the header
        cells[-1] = line[spans[-1][0]:].strip()
        if cells[0]:
            rows.append({"activation": activation, **dict(zip(headers, cells))})
        else:
            for header, cell in zip(headers, cells):
                if cell:  # a new part ('stalled at ...') was a new line: '; ' joins it
                    joint = "; " if cell.startswith(("diverged at", "stalled at")) else " "
                    rows[-1][header] += joint + cell
    return rows


def sentences(out):
    """The sentence per activation under the table, unwrapped: {activation: sentence}."""
    paragraphs = out.split("\n\n")
    start = r"\w+ \(\w+ (?:trains|reaches)"
    block = next(p for p in paragraphs if re.match(start, p))
    found = re.findall(rf"^(\w+) (\(.*?)(?=^{start}|\Z)", block, re.S | re.M)
    return {name: " ".join(f"{name} {text}".split()) for name, text in found}
