"""Asks that read like another topic's: for content editors keeping topics apart (`make kb-overlaps`).

Each ask is classified by a topic head trained on the other asks (k-fold cross-validation, the matcher's own
features and classifier). An ask that lands in another topic is either in the wrong topic (move it to the
topic whose title and summary name its subject), fits two topics equally (leave it out: it teaches the
matcher that the two mean the same), or is fine but unusual. Overlapping asks were the largest class of
confusions between neighbouring topics (benchmarks/results/nlu.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.content import Content
from knowledge_base.loader import matcher_examples
from knowledge_base.matcher import DOMAIN_ONLY, TOPIC_C, Matcher


@dataclass(frozen=True)
class Overlap:
    text: str
    topic: str  # where the ask is written ("off" and "overview" for those files)
    reads_as: str  # where the other asks put it


def misplaced(examples: Sequence[tuple[str, str]], folds: int = 5, seed: int = 1) -> list[Overlap]:
    """The examples (text, matcher label) whose topic, predicted from the other folds, is not their own."""
    from joblib import parallel_backend
    from sklearn.model_selection import StratifiedKFold

    items = [(t, Matcher._topic(label) or label) for t, label in examples if label != DOMAIN_ONLY]
    counts = Counter(label for _, label in items)
    items = [(t, label) for t, label in items if counts[label] >= folds]  # too few to split: not judged
    texts, labels = [t for t, _ in items], [label for _, label in items]
    vectorizer = Matcher._vectorizer().fit(texts)
    features = vectorizer.transform(texts)
    found = []
    with parallel_backend("threading"):
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
            classifier = Matcher._classifier(TOPIC_C).fit(features[train], [labels[i] for i in train])
            for i, predicted in zip(test, classifier.predict(features[test])):
                if predicted != labels[i]:
                    found.append(Overlap(texts[i], labels[i], str(predicted)))
    return found


def overlapping_asks(content: Content, folds: int = 5) -> list[Overlap]:
    """The content's asks (topics, question entries, overview, off-topic) that read like another topic's;
    diagnosis names appear as "diagnose", as the matcher reads them."""
    return misplaced(matcher_examples(content), folds)
