"""Nesting of AudioSet labels (Animal > Domestic animals, pets > Dog > Bark), for ordering.

The hierarchy is the whole AudioSet ontology (632 classes, CC BY-SA 4.0) as a child → parent
table, ``resources/audioset_parents.tsv``, made from the published ``ontology.json`` by
``scripts/audioset-parents.py``. It includes abstract classes that YAMNet does not output
(Human voice, Music genre, ...): ancestors are followed through them.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional, Sequence

from monitor.resources import resource_path

__all__ = ["LabelTree", "PARENTS_FILE"]

PARENTS_FILE = str(resource_path("audioset_parents.tsv"))


class LabelTree:
    """Ancestors of each label, from a child → parents map (a label may have several parents).

    Parameters
    ----------
    parents : mapping of str to sequence of str
        Every class of the hierarchy, with its parents (none for a top-level class).
    labels : iterable of str, optional
        The names :meth:`ancestors` may return (default: every class).
    """

    def __init__(self, parents: Mapping[str, Sequence[str]],
                 labels: Optional[Iterable[str]] = None) -> None:
        self._parents = {child: tuple(ps) for child, ps in parents.items()}
        self._labels = frozenset(labels) if labels is not None else None
        self._ancestors: dict[str, frozenset] = {}

    @classmethod
    def from_tsv(cls, path: str = PARENTS_FILE, labels: Optional[Iterable[str]] = None) -> "LabelTree":
        """Read ``child<TAB>parent`` lines (``#`` comments and the ``child parent`` header
        skipped; an empty parent marks a top-level class).

        With ``labels`` (a model's class names), :meth:`ancestors` names only those: a class
        the model lacks is passed through, so the nesting between the model's labels is kept
        (``Jazz`` is under ``Music genre``, which YAMNet lacks, under ``Music``). A
        missing file gives an empty tree: ordering then falls back to the scores alone.
        """
        parents: dict[str, list[str]] = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if not line or line.startswith("#") or line == "child\tparent":
                        continue
                    child, _, parent = line.partition("\t")
                    known = parents.setdefault(child, [])
                    if parent:
                        known.append(parent)
        except OSError:
            pass
        return cls(parents, labels=labels)

    def ancestors(self, label: str) -> frozenset:
        """Every label above ``label`` (not itself), among ``labels`` when the tree has them."""
        found = self._ancestors.get(label)
        if found is None:
            found = self._above(label)
            if self._labels is not None:
                found &= self._labels
            self._ancestors[label] = found
        return found

    def roots(self, label: str) -> frozenset:
        """The top-level classes above ``label`` (itself if it is one; empty if unknown)."""
        if label not in self._parents:
            return frozenset()
        return frozenset(c for c in self._above(label) | {label} if not self._parents.get(c))

    def _above(self, label: str) -> frozenset:
        """Every class above ``label`` in the whole hierarchy."""
        seen: set[str] = set()
        stack = list(self._parents.get(label, ()))
        while stack:
            p = stack.pop()
            if p not in seen and p != label:
                seen.add(p)
                stack.extend(self._parents.get(p, ()))
        return frozenset(seen)

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

    def __iter__(self) -> Iterator[str]:
        """The classes of the hierarchy."""
        return iter(self._parents)

    def __contains__(self, label: object) -> bool:
        return label in self._parents

    def __len__(self) -> int:
        """Number of classes in the hierarchy."""
        return len(self._parents)
