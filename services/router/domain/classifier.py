"""Classification: which onderwerp (subject) a question is about. Pure and deterministic.

1. The channel's subject code, when it names a subject of the catalog, wins.
2. Otherwise the question text is normalised — lower case, accents removed, split into words, each
   word reduced to its Snowball (Dutch) stem — and scored against every subject's keywords, which are
   normalised the same way. A one-word keyword matches a word, or the head or tail (at least five
   letters) of a compound word ("parkeervergunning" holds "vergunning"), and one word of the
   question scores at most one point per subject (its longest matching part); a phrase of several
   words matches those words in a row and weighs as many points as it has words. Each keyword
   counts once, and keywords with the same stem are one keyword.
3. The highest score wins; on a tie the subject listed first in the catalog wins, so the catalog's
   order is the tie-breaker and stays under the organisation's control.
4. No keyword at all → the general subject (generalist desk). A question is never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from functools import lru_cache

import snowballstemmer

from plumbing.organisation import Organisation, Subject, SubjectKind
from schemas import QuestionData

_WORD = re.compile(r"[a-z0-9]+")
_STEMMER = snowballstemmer.stemmer("dutch")
#: Shortest head or tail of a compound word that may match a keyword.
MIN_COMPOUND_PART = 5
#: Words whose keyword hits are remembered; citizens' vocabulary is large but not endless.
WORD_CACHE_SIZE = 200_000
#: Texts (as they came, and as normalised words) whose scores are remembered: forms, templates and the questions
#: everyone asks come back word for word. Forgotten all at once when full, which is cheaper than an LRU's upkeep.
TEXT_CACHE_SIZE = 50_000


def strip_accents(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def stems(text: str) -> list[str]:
    """The normalised words of a text, in order."""
    return [stem(word) for word in _WORD.findall(strip_accents(text))]


def compound_parts(word: str) -> list[str]:
    """Heads and tails of a word that could be words of their own, longest first."""
    longest = len(word) - 3
    heads = [word[:n] for n in range(longest, MIN_COMPOUND_PART - 1, -1)]
    tails = [word[-n:] for n in range(longest, MIN_COMPOUND_PART - 1, -1)]
    return heads + tails


class Classifier:
    """The catalog's keywords, normalised once at start-up, and the rules above."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self._words: dict[str, list[tuple[int, int]]] = defaultdict(list)  # stem -> (subject, keyword)
        self._phrases: list[tuple[str, int, int, int]] = []  # (" a b ", subject, keyword, weight)
        keyword_id = 0
        for index, subject in enumerate(organisation.subjects):
            seen: set[str] = set()  # 'paspoort' and 'paspoorten' share a stem: one keyword, one point
            for keyword in subject.keywords:
                words = stems(keyword)
                normalised = " ".join(words)
                if not words or normalised in seen:
                    continue
                seen.add(normalised)
                if len(words) == 1:
                    self._words[words[0]].append((index, keyword_id))
                else:
                    self._phrases.append((f" {normalised} ", index, keyword_id, len(words)))
                keyword_id += 1
        self._hits_of_word: dict[str, tuple[tuple[int, int], ...]] = {}
        general = organisation.subject(organisation.general_subject)
        assert general is not None  # the organisation file guarantees it
        self.general = general
        self._by_text: dict[str, dict[int, int]] = {}
        self._by_words: dict[str, dict[int, int]] = {}

    def classify(self, question: QuestionData) -> tuple[Subject, str]:
        """The subject of a question and how it was found: subject-code, keyword-match or general-subject."""
        if question.subject_code:
            known = self.organisation.subject(question.subject_code)
            if known:
                return known, "subject-code"
        if question.text:
            best = self.best_match(question.text)
            if best is not None:
                return best, "keyword-match"
        return self.general, "general-subject"

    def best_match(self, text: str) -> Subject | None:
        scores = self.scores(text)
        if not scores:
            return None
        # Highest score; on a tie the lowest index, i.e. the subject listed first.
        index = min(scores, key=lambda i: (-scores[i], i))
        return self.organisation.subjects[index]

    def about(self, text: str) -> Subject | None:
        """What a complaint is about: the best-matching ordinary question subject in its text (complaints, ideas,
        corrections, callbacks and the general subject left out); None when none matches."""
        subjects = self.organisation.subjects
        scores = {i: n for i, n in self.scores(text).items()
                  if subjects[i].kind is SubjectKind.QUESTION and subjects[i].code != self.general.code}
        if not scores:
            return None
        return subjects[min(scores, key=lambda i: (-scores[i], i))]

    def scores(self, text: str) -> dict[int, int]:
        """Each matching subject's score (by index); remembered per text and per normalised text."""
        known = self._by_text.get(text)
        if known is not None:
            return known
        words = stems(text)
        normalised = " ".join(words)
        known = self._by_words.get(normalised)
        if known is None:
            known = self._by_words[normalised] = self._scores(words)
        self._by_text[text] = known
        if len(self._by_text) > TEXT_CACHE_SIZE or len(self._by_words) > TEXT_CACHE_SIZE:
            self._by_text.clear()
            self._by_words.clear()
        return known

    def _scores(self, words: list[str]) -> dict[int, int]:
        matched: dict[int, tuple[int, int]] = {}  # keyword -> (subject, weight)
        for word in set(words):
            for subject, keyword in self._word_hits(word):
                matched.setdefault(keyword, (subject, 1))
        if self._phrases:
            padded = f" {' '.join(words)} "
            for phrase, subject, keyword, weight in self._phrases:
                if phrase in padded:
                    matched[keyword] = (subject, weight)
        scores: dict[int, int] = defaultdict(int)
        for subject, weight in matched.values():
            scores[subject] += weight
        return scores

    def _word_hits(self, word: str) -> tuple[tuple[int, int], ...]:
        """(subject, keyword) hits of one word: one per subject, its longest matching part. Memoised."""
        hits = self._hits_of_word.get(word)
        if hits is None:
            found: dict[int, int] = {}
            for candidate in (word, *compound_parts(word)):
                for subject, keyword in self._words.get(candidate, ()):
                    found.setdefault(subject, keyword)
            hits = tuple(found.items())
            if len(self._hits_of_word) < WORD_CACHE_SIZE:
                self._hits_of_word[word] = hits
        return hits
