"""Deterministic train / held-out partition of value lists and phrasing lists.

Every list the generator draws from (names, streets, cities, hospitals, sentence templates ...)
is cut into a train part and a held-out part by a stable hash of each item's text, so the
held-out split never shows a value or a phrasing that the train split can produce. The hash is
keyed on the item itself (not its position), so a value that occurs in two lists (a surname in
both the nl-NL and the nl-BE list) always lands on the same side.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from typing import Generic, Literal, TypeVar

Split = Literal["train", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "heldout")

#: Share of every list that is reserved for the held-out split.
HELDOUT_FRACTION = 0.2

T = TypeVar("T")


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts' text that does not change between runs or Python versions."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def is_heldout(item: str) -> bool:
    """Whether ``item`` belongs to the held-out part of any list it appears in."""
    return stable_hash("split", item) % 10_000 < HELDOUT_FRACTION * 10_000


def belongs_to(item: str, split: Split) -> bool:
    """Whether a composed item (a field label built from parts) is available to ``split``.

    The same rule as :class:`Pool` applies to the item's own text, so a composed string lands
    on one side only, however it was put together.
    """
    return is_heldout(item) == (split == "heldout")


def derive_rng(*parts: object) -> random.Random:
    """A private random generator seeded from the parts (seed, split, kind, index ...)."""
    return random.Random(stable_hash("rng", *parts))


class Pool(Generic[T]):
    """A list of items partitioned into train and held-out parts by :func:`is_heldout`.

    A list with a single item is shared by both splits; otherwise both parts are non-empty
    (the item with the smallest hash moves over when the hash leaves one side empty).
    """

    __slots__ = ("heldout", "train")

    def __init__(self, items: Iterable[T], key: str = "") -> None:
        unique: dict[str, T] = {}
        for item in items:
            unique.setdefault(str(item), item)
        values = list(unique.values())
        if not values:
            raise ValueError("a pool needs at least one item")
        train = [item for item in values if not is_heldout(key + str(item))]
        heldout = [item for item in values if is_heldout(key + str(item))]
        if len(values) == 1:
            train = heldout = values
        elif not heldout or not train:
            donor = train or heldout
            moved = min(donor, key=lambda item: stable_hash("split", key + str(item)))
            donor.remove(moved)
            (heldout if not heldout else train).append(moved)
        self.train: tuple[T, ...] = tuple(train)
        self.heldout: tuple[T, ...] = tuple(heldout)

    def part(self, split: Split) -> Sequence[T]:
        """The items available to ``split``."""
        return self.train if split == "train" else self.heldout

    def pick(self, rng: random.Random, split: Split) -> T:
        """One item of ``split``'s part, uniformly."""
        return rng.choice(self.part(split))
