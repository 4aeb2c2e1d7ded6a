"""Nesting of AudioSet labels (Animal > Domestic animals, pets > Dog > Bark), for ordering.

No copy of the AudioSet ontology is installed with any package here, so the repository ships a
curated parent map of the common nested YAMNet labels: ``resources/audioset_parents.tsv``.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Optional, Sequence

__all__ = ["LabelTree", "PARENTS_FILE"]

PARENTS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "resources", "audioset_parents.tsv")


class LabelTree:
    """Ancestors of each label, from a child → parents map (a label may have several parents).

    Parameters
    ----------
    parents : mapping of str to sequence of str
    """

    def __init__(self, parents: Mapping[str, Sequence[str]]) -> None:
        self._parents = {child: tuple(ps) for child, ps in parents.items()}
        self._ancestors: dict[str, frozenset] = {}

    @classmethod
    def from_tsv(cls, path: str = PARENTS_FILE, labels: Optional[Iterable[str]] = None) -> "LabelTree":
        """Read ``child<TAB>parent`` lines (``#`` comments and a ``child parent`` header skipped).

        With ``labels``, pairs naming a label the model does not have are left out (the map is
        written for YAMNet's names; another model's labels may differ). A missing file gives an
        empty tree: ordering then falls back to the scores alone.
        """
        known = set(labels) if labels is not None else None
        parents: dict[str, list[str]] = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if not line or line.startswith("#") or line == "child\tparent":
                        continue
                    child, _, parent = line.partition("\t")
                    if known is not None and (child not in known or parent not in known):
                        continue
                    parents.setdefault(child, []).append(parent)
        except OSError:
            pass
        return cls(parents)

    def ancestors(self, label: str) -> frozenset:
        """Every label above ``label`` (not itself)."""
        found = self._ancestors.get(label)
        if found is None:
            seen: set[str] = set()
            stack = list(self._parents.get(label, ()))
            while stack:
                p = stack.pop()
                if p not in seen and p != label:
                    seen.add(p)
                    stack.extend(self._parents.get(p, ()))
            found = self._ancestors[label] = frozenset(seen)
        return found

    def specific_first(self, ranked: Sequence) -> list:
        """Reorder ``[[label, score], ...]`` (best first) so that each label comes before its
        ancestors in the list; otherwise the score order is kept.

        Each item is placed just before the first item already placed that is one of its
        ancestors, so a family stays together at the rank of its best member:
        ``Animal .95, Dog .9, Speech .6, Bark .5`` → ``Bark, Dog, Animal, Speech``.
        """
        out: list = []
        for item in ranked:
            above = self.ancestors(item[0])
            pos = next((i for i, placed in enumerate(out) if placed[0] in above), len(out))
            out.insert(pos, item)
        return out

    def __len__(self) -> int:
        return len(self._parents)
