#!/usr/bin/env python3
"""The command-line options as a Markdown table, made from the real parser.

    .venv/bin/python scripts/cli-table.py            print it
    .venv/bin/python scripts/cli-table.py README.md  replace the table between the markers
                                                     <!-- cli-table --> and <!-- /cli-table -->
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from monitor.cli import build_parser  # noqa: E402


def _option(action: argparse.Action) -> str:
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{names}`"
    if action.metavar:
        arg = action.metavar
    elif action.choices:
        arg = "|".join(str(c) for c in action.choices)
    else:
        arg = action.dest.upper()
    return f"`{names} {arg}`"


def table() -> str:
    parser = build_parser()
    rows = ["| option | what it does |", "|---|---|"]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help is not argparse.SUPPRESS]
        if not actions or group.title == "options":
            continue
        rows.append(f"| **{group.title}** | |")
        for a in actions:
            text = " ".join((a.help or "").split()).replace("%%", "%")
            # A | inside a table cell, even in a code span, must be escaped.
            cells = [_option(a).replace("|", "\\|"), text.replace("|", "\\|")]
            rows.append(f"| {cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) < 2:
        print(table())
        return
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = "<!-- cli-table -->", "<!-- /cli-table -->"
    if start not in text or end not in text:
        sys.exit(f"{path}: markers {start} ... {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{start}\n{table()}\n{end}{tail}")

if __name__ == "__main__":
    main()
