"""The matcher: which topic and which question entry a message asks about, and whether it belongs to the
domain at all. Learned from the knowledge base alone (`asks` of topics and question entries, the general
help questions, and the off-topic examples), so that an editor's new entry is answered after `make kb`
without Rasa training.

Two linear classifiers over the same tf-idf features (lemma 1–2-grams and character 2–5-grams of the folded
text). The topic classifier has a class per topic (its asks and all its question entries' asks together),
one for general requests for help ("overview") and one for everything outside the domain ("off"); its
decision values become probabilities by a softmax with a temperature chosen at build time so that the
probability of the predicted class matches how often it is right on held-out folds of the asks
(calibration). The question classifier has a class per topic overview and per question entry; within the
topic the first one chose, its scores pick the question entry. Pooling a topic's asks gives each topic
class hundreds of examples instead of a handful per entry, and on the development set picked the right
topic more often (benchmarks/results/nlu.md).

Whether a message belongs to the domain at all is a second, binary question, answered by a logistic
regression on the same features: everything the domain says (all asks, and the "domain only" examples such
as "hvem kan vi kontakte?" and the role phrases) against the off-topic examples. In the classifier above the
"off" class is one of more than a hundred and, with balanced class weights, counts little; on its own it
is weighed against the whole domain.

Who writes (a parent, a professional, a young person about themself) is a third question, answered by a
multinomial logistic regression on the same features, learned from whole messages in each role's voice
(`role_examples.yml`), against short questions in no one's particular voice ("neutral"): professionals
give themselves away by how they speak of a family ("forældrene", "borgeren", "kan vi bevilge"), not only
by their job title.
"""

from __future__ import annotations

import io
import math
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from knowledge_base.text import clean, fold, terms

OFF = "off"
OVERVIEW = "overview"
DOMAIN_ONLY = "domain"  # in the domain, but no answer of its own: teaches only the domain score
NEUTRAL = "neutral"  # the role classifier's class for messages in no one's particular voice
TOPIC_PREFIX = "topic:"
QUESTION_PREFIX = "question:"
TEMPERATURES = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0)
CALIBRATION_FOLDS = 3
# The topic head is regularised harder than the question head: with C = 0.1 it leans on what many asks of a
# topic share instead of the wording of single asks, and picked the right topic more often for messages
# worded unlike any ask (tests/data/dev.yml, benchmarks/results/nlu.md). The question head keeps C = 1: its
# raw scores are compared with QUESTION_SCORE_MIN, which was chosen for it.
TOPIC_C = 0.1
QUESTION_C = 1.0


@lru_cache(maxsize=50_000)
def lemma_grams(text: str) -> tuple[str, ...]:
    """Lemma unigrams and bigrams (folded, stop words kept for bigrams so "hvem er" stays a signal). Cached:
    a build featurises every ask several times (calibration, fit, domain), and lemmatising is most of it."""
    all_terms = terms(text, keep_stop_words=True)
    content = terms(text)
    return tuple(content + [f"{a} {b}" for a, b in zip(all_terms, all_terms[1:])])


def folded(text: str) -> str:
    return fold(clean(text, max_length=600))


@dataclass(frozen=True)
class Match:
    """The matcher's reading of a message.

    topic: the most likely topic id (None when "off" or "overview" is the most likely class)
    question: the question entry id, when one question entry is clearly what is asked
    confidence: probability of `topic` (or of the winning pseudo-class)
    domain: probability that the message belongs to the domain at all (the binary domain classifier)
    overview: the message asks generally what help there is
    ranked: (topic id, probability) for the best topics, most likely first
    """

    topic: str | None
    question: str | None
    confidence: float
    domain: float
    overview: bool = False
    ranked: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    question_score: float = -math.inf  # the question entry's own SVM score; ≥ 0 means "this is that question"


class LinearHead:
    """One-vs-rest SVMs as one weight matrix (float32): one sparse-dense product per message instead of a
    Python loop over hundreds of estimators, and half the size in the KB database. Stored features × classes,
    so that each of a message's few features adds one contiguous row."""

    def __init__(self, classifier, temperature: float):
        self.weights = np.ascontiguousarray(
            np.vstack([e.coef_.ravel() for e in classifier.estimators_]).T.astype(np.float32)
        )
        self.intercepts = np.array([e.intercept_[0] for e in classifier.estimators_], dtype=np.float32)
        self.labels = list(classifier.classes_)
        self.temperature = temperature

    def decision_values(self, features) -> np.ndarray:
        """One SVM score per class for one message's features (a row)."""
        values = (
            np.asarray(features.astype(np.float32) @ self.weights).ravel() + self.intercepts
        )  # no upcast copy
        if values.shape[0] == 1:  # two classes: one decision value
            values = np.array([-values[0], values[0]])
        return values

    def probabilities(self, features) -> dict[str, float]:
        values = self.decision_values(features).reshape(1, -1)
        return dict(zip(self.labels, _softmax(values * self.temperature)[0]))


class Matcher:
    role_classifier = None  # a matcher pickled before the role classifier existed has none

    def __init__(
        self,
        vectorizer,
        topics: LinearHead,
        questions: LinearHead,
        domain_classifier=None,
        role_classifier=None,
    ):
        self.vectorizer = vectorizer
        self.topics = topics
        self.questions = questions
        self.domain_classifier = domain_classifier
        self.role_classifier = role_classifier

    @staticmethod
    def _topic(label: str) -> str | None:
        if label.startswith(TOPIC_PREFIX):
            return label[len(TOPIC_PREFIX) :]
        if label.startswith(QUESTION_PREFIX):
            return label[len(QUESTION_PREFIX) :].split("/", 1)[0]
        return None

    # -- building -----------------------------------------------------------------------------
    @staticmethod
    def _vectorizer():
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        return FeatureUnion(
            [
                ("lemmas", TfidfVectorizer(analyzer=lemma_grams, sublinear_tf=True, min_df=1)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        preprocessor=folded,
                        ngram_range=(2, 5),
                        sublinear_tf=True,
                        min_df=2,
                        max_features=40000,
                    ),
                ),
            ]
        )

    @staticmethod
    def _classifier(c: float):
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.svm import LinearSVC

        # one binary SVM per class, each balanced (a question entry has a handful of asks against thousands
        # of others), fitted on both cores; better than LinearSVC's own multi-class balancing
        # (benchmarks/results/nlu.md)
        return OneVsRestClassifier(LinearSVC(C=c, class_weight="balanced", max_iter=5000), n_jobs=2)

    @classmethod
    def train(
        cls, examples: list[tuple[str, str]], roles: Sequence[tuple[str, str]] = (), seed: int = 42
    ) -> "Matcher":
        """Fit on (text, label) pairs; labels are "topic:<id>", "question:<id>", "overview", "off" or
        "domain". `roles` are (message, role) pairs for the role classifier (none: no role classifier)."""
        from joblib import parallel_backend

        with parallel_backend(
            "threading"
        ):  # liblinear releases the GIL; processes would take seconds to start
            return cls._train(examples, list(roles), seed)

    @classmethod
    def _train(cls, examples: list[tuple[str, str]], roles: list[tuple[str, str]], seed: int) -> "Matcher":
        from sklearn.linear_model import LogisticRegression

        answerable = [(t, label) for t, label in examples if label != DOMAIN_ONLY]
        texts = [t for t, _ in answerable]
        labels = [label for _, label in answerable]
        by_topic = [TOPIC_PREFIX + topic if (topic := cls._topic(label)) else label for label in labels]
        vectorizer = cls._vectorizer()
        vectorizer.fit([t for t, _ in examples] + [t for t, _ in roles])
        features = vectorizer.transform(texts)
        temperature = cls._calibrate(texts, by_topic, seed, vectorizer)
        topics = LinearHead(cls._classifier(TOPIC_C).fit(features, by_topic), temperature)
        # the question head's probabilities are never summed into a topic's confidence, so it needs no
        # calibration: only its raw scores are compared (within a topic, and against 0)
        questions = LinearHead(cls._classifier(QUESTION_C).fit(features, labels), 1.0)
        domain_classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(
            vectorizer.transform([t for t, _ in examples]), [label != OFF for _, label in examples]
        )
        role_classifier = None
        if len({role for _, role in roles}) > 1:
            role_classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(
                vectorizer.transform([t for t, _ in roles]), [role for _, role in roles]
            )
        return cls(vectorizer, topics, questions, domain_classifier, role_classifier)

    @classmethod
    def _calibrate(cls, texts: list[str], labels: list[str], seed: int, vectorizer) -> float:
        """The softmax temperature whose confidence best matches held-out accuracy (lowest log loss of the
        topic-level prediction on a stratified third of the asks, the model fitted on the rest; the features
        are the final vocabulary's, which knows the held-out words but gives them no weight)."""
        from sklearn.model_selection import StratifiedShuffleSplit

        counts = {label: labels.count(label) for label in set(labels)}
        usable = [i for i, label in enumerate(labels) if counts[label] >= CALIBRATION_FOLDS]
        if len(usable) < 20:
            return 5.0
        x = [texts[i] for i in usable]
        y = [labels[i] for i in usable]
        split = StratifiedShuffleSplit(n_splits=1, test_size=1 / CALIBRATION_FOLDS, random_state=seed)
        decisions, truths, classes_seen = [], [], None
        for train_idx, test_idx in split.split(x, y):
            train_features = vectorizer.transform([x[i] for i in train_idx])
            classifier = cls._classifier(TOPIC_C).fit(train_features, [y[i] for i in train_idx])
            classes_seen = list(classifier.classes_)
            values = classifier.decision_function(vectorizer.transform([x[i] for i in test_idx]))
            decisions.append(values)
            truths += [y[i] for i in test_idx]
        assert classes_seen is not None  # n_splits=1: the loop above ran once
        values = np.vstack(decisions)
        group = [cls._topic(c) or c for c in classes_seen]
        truth_groups = [cls._topic(t) or t for t in truths]
        best, best_loss = 5.0, math.inf
        for temperature in TEMPERATURES:
            probabilities = _softmax(values * temperature)
            loss = 0.0
            for row, truth in zip(probabilities, truth_groups):
                p = sum(pr for pr, g in zip(row, group) if g == truth)
                loss -= math.log(max(p, 1e-9))
            if loss < best_loss:
                best, best_loss = temperature, loss
        return best

    # -- matching ---------------------------------------------------------------------------
    def match(self, text: str) -> Match:
        if not isinstance(text, str) or not re.search(r"\w", text):
            return Match(None, None, 0.0, 0.0)
        features = self.vectorizer.transform([text])
        probabilities = self.topics.probabilities(features)
        ranked = tuple(
            sorted(
                (
                    (label[len(TOPIC_PREFIX) :], p)  # what self._topic(label) returns for these labels
                    for label, p in probabilities.items()
                    if label.startswith(TOPIC_PREFIX)
                ),
                key=lambda item: -item[1],
            )[:5]
        )
        off = probabilities.get(OFF, 0.0)
        overview = probabilities.get(OVERVIEW, 0.0)
        domain = (
            float(self.domain_classifier.predict_proba(features)[0][1])
            if self.domain_classifier
            else 1.0 - off
        )
        top_topic, top_p = ranked[0] if ranked else (None, 0.0)
        if overview > top_p and overview >= off:
            return Match(None, None, overview, domain, overview=True, ranked=ranked)
        if off >= top_p:
            return Match(None, None, off, domain, ranked=ranked)
        # the topic's question entry whose own one-vs-rest SVM scores the message highest; its raw score says
        # how sure that SVM is that this is its question (0 is its decision boundary)
        scores = zip(self.questions.labels, self.questions.decision_values(features))
        question, score = max(
            (
                (label[len(QUESTION_PREFIX) :], value)
                for label, value in scores
                if label.startswith(QUESTION_PREFIX) and self._topic(label) == top_topic
            ),
            key=lambda item: item[1],
            default=(None, -math.inf),
        )
        return Match(top_topic, question, top_p, domain, ranked=ranked, question_score=float(score))

    def role(self, text: str) -> tuple[str | None, float]:
        """The role whose voice the message is most likely written in, and its probability; (None, 0.0) for an
        empty message or a matcher without a role classifier."""
        if self.role_classifier is None or not isinstance(text, str) or not re.search(r"\w", text):
            return None, 0.0
        probabilities = self.role_classifier.predict_proba(self.vectorizer.transform([text]))[0]
        best = int(np.argmax(probabilities))
        return str(self.role_classifier.classes_[best]), float(probabilities[best])

    # -- storage -------------------------------------------------------------------------------
    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def loads(data: bytes) -> "Matcher":
        # The bytes come from our own KB database, written by `make kb` (never from users).
        return pickle.loads(data)


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = values - values.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
