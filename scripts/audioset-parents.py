#!/usr/bin/env python3
"""Write resources/audioset_parents.tsv, the child → parent table of the AudioSet ontology.

    python3 scripts/audioset-parents.py [ONTOLOGY.json [OUT.tsv]]

ONTOLOGY.json is the published ontology (https://github.com/audioset/ontology, 632 classes;
default: ../shared/audioset-ontology/ontology.json beside the repository); OUT.tsv defaults to
resources/audioset_parents.tsv. One line per edge, ``child<TAB>parent`` by display name (the
names are unique, and YAMNet's class map uses the same ones); a class with several parents has a
line for each; the seven top-level classes have a line with an empty parent, so every class of
the ontology appears. Lines follow the ontology's own order, so a new release gives a readable
diff. Only the standard library is used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ONTOLOGY = REPO.parent / "shared" / "audioset-ontology" / "ontology.json"
DEFAULT_OUT = REPO / "resources" / "audioset_parents.tsv"

HEADER = """\
# The AudioSet ontology as a child -> parent table: child<TAB>parent, by display name.
# Source: the AudioSet ontology, ontology.json v1 (Gemmeke et al. 2017,
# https://github.com/audioset/ontology), by Google Inc., CC BY-SA 4.0
# (https://creativecommons.org/licenses/by-sa/4.0/). This table is an adaptation of it under the
# same licence. Made by scripts/audioset-parents.py; do not edit by hand.
# Every class appears; a class with several parents has a line per parent; a top-level class has
# an empty parent.
"""


def edges(ontology: list[dict]) -> list[tuple[str, str]]:
    """``(child, parent)`` display names for every edge, plus ``(root, "")`` for each root.

    Parameters
    ----------
    ontology : list of dict
        The ontology's entries (``id``, ``name``, ``child_ids``, ...).
    """
    names = {entry["id"]: entry["name"] for entry in ontology}
    if len(set(names.values())) != len(names):
        raise ValueError("display names are not unique; a table by name would be ambiguous")
    parents: dict[str, list[str]] = {}
    for entry in ontology:
        for child in entry["child_ids"]:
            if child not in names:
                raise ValueError(f"{entry['name']!r} names an unknown child {child}")
            parents.setdefault(child, []).append(entry["name"])
    out = []
    for entry in ontology:
        for parent in parents.get(entry["id"], [""]):
            out.append((entry["name"], parent))
    return out


def main(argv: list[str]) -> int:
    ontology_path = Path(argv[0]) if argv else DEFAULT_ONTOLOGY
    out_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    ontology = json.loads(ontology_path.read_text(encoding="utf-8"))
    rows = edges(ontology)
    for child, parent in rows:
        if "\t" in child + parent or "\n" in child + parent:
            raise ValueError(f"a display name holds a tab or newline: {child!r} / {parent!r}")
    text = HEADER + "child\tparent\n" + "".join(f"{c}\t{p}\n" for c, p in rows)
    out_path.write_text(text, encoding="utf-8")
    print(f"{out_path}: {len(ontology)} classes, {len(rows)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
