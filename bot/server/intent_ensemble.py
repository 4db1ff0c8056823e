"""Intent classifier for the conversational act (ask a question, tell the situation, ask for a person …): a
linear support-vector machine on its own tf-idf vocabularies (lemma unigrams and bigrams, and up to 20 000
character n-grams with logarithmic term counts). Its decision values become probabilities by a softmax with a
temperature, so that the FallbackClassifier can judge the confidence.

It is the only intent classifier in config.yml: DIET beside it gave the same development-set results at
several times the training and prediction cost (docs/decisions.md). When another classifier runs before it,
its ranking is averaged with that one's (`diet_weight` is the other classifier's share).

Short acts with a closed vocabulary (a greeting, thanks, a thumbs up) are answered with a fixed reply and
never reach the knowledge base. A message is taken for one of them only when its words are that act's words:
when more than half of them, and at least two, never occur in the act's training examples ("lås hoveddøren
tak"), the closed acts are dropped from its ranking and the next act wins (usually a question, which the
knowledge base's router answers or turns away).

Usage in config.yml, after the tokenizer that sets lemmas and before FallbackClassifier:

    - name: bot.server.intent_ensemble.IntentEnsemble
      temperature: 10      # softmax sharpness over the machine's decision values
      closed_acts: [greet, thank]   # fixed-reply acts: only for messages worded like their examples
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import hstack
from scipy.special import softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)
FILE = "intent_ensemble.skops"
WORD = re.compile(r"[^\W\d_]+")
UNSEEN_MIN = 2  # a message with at least this many words new to an act, and more than half, is not it


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentEnsemble(GraphComponent, IntentClassifier):
    """A linear classifier whose probabilities are averaged with the intent ranking already on the message."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "diet_weight": 0.4,
            "C": 2.0,
            "temperature": 10.0,
            "char_max_features": 20000,
            "ranking_length": 10,
            "closed_acts": [],
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        parts: tuple | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        parts = parts or ()
        # the words of each closed act's training examples (absent in a model trained before they were kept)
        self.act_words: Dict[str, frozenset] = (
            {act: frozenset(words) for act, words in parts[3].items()} if len(parts) > 3 else {}
        )
        self.words, self.chars, self.clf = parts[:3] or (
            TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), lowercase=False, sublinear_tf=True),
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                max_features=self.config["char_max_features"],
                sublinear_tf=True,
            ),
            LinearSVC(C=self.config["C"], class_weight="balanced"),
        )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "IntentEnsemble":
        return cls(config, model_storage, resource)

    def _features(self, messages: List[Message], fit: bool = False):
        """Lemma 1–2-gram tf-idf beside character n-gram tf-idf of the lower-cased text,
        one row per message."""
        lemmas = [
            " ".join(token.lemma.lower() for token in message.get(TOKENS_NAMES[TEXT]) or [])
            for message in messages
        ]
        texts = [(message.get(TEXT) or "").lower() for message in messages]
        if fit:
            return hstack([self.words.fit_transform(lemmas), self.chars.fit_transform(texts)]).tocsr()
        return hstack([self.words.transform(lemmas), self.chars.transform(texts)]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("No intent examples: IntentEnsemble is not trained.")
            return self._resource
        self.clf.fit(self._features(examples, fit=True), [e.get(INTENT) for e in examples])
        act_words: Dict[str, set] = {act: set() for act in self.config["closed_acts"]}
        for example in examples:
            if example.get(INTENT) in act_words:
                act_words[example.get(INTENT)].update(_words(example))
        self.act_words = {act: frozenset(words) for act, words in act_words.items()}
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as folder:
            stored = {act: sorted(words) for act, words in act_words.items()}
            sio.dump((self.words, self.chars, self.clf, stored), folder / FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "IntentEnsemble":
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as folder:
                path = folder / FILE
                parts = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        except ValueError:  # trained without intents: nothing was stored
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, parts)

    def _probabilities(self, features) -> np.ndarray:
        """Softmax over the decision values; with two intents the machine gives one value,
        for the second class.

        A message with none of the known n-grams (empty, only unseen characters) would be ranked by the
        intercepts alone, which the temperature turns into a confident guess; it gets equal probabilities.
        """
        decision = self.clf.decision_function(features)
        if decision.ndim == 1:
            decision = np.column_stack([-decision, decision])
        probabilities = softmax(self.config["temperature"] * decision, axis=1)
        probabilities[features.getnnz(axis=1) == 0] = 1.0 / probabilities.shape[1]
        return probabilities

    def _worded_like(self, message: Message, intent: str) -> bool:
        """Whether a message may be the closed act `intent` (always true for other intents)."""
        known = self.act_words.get(intent)
        if known is None:
            return True
        words = _words(message)
        unseen = sum(word not in known for word in words)
        return unseen < UNSEEN_MIN or unseen * 2 <= len(words)

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace the message's intent and ranking by the weighted average of the earlier ranking and
        ours."""
        if not messages or not hasattr(self.clf, "classes_"):
            return messages
        probabilities = self._probabilities(self._features(messages))
        for message, row in zip(messages, probabilities):
            earlier = {
                entry[INTENT_NAME_KEY]: entry[PREDICTED_CONFIDENCE_KEY]
                for entry in message.get(INTENT_RANKING_KEY) or []
            }
            weight = self.config["diet_weight"] if earlier else 0.0  # alone, it is a plain classifier
            combined = {
                name: weight * earlier.get(name, 0.0) + (1 - weight) * float(p)
                for name, p in zip(self.clf.classes_, row)
            }
            ranking = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in sorted(combined.items(), key=lambda item: -item[1])
            ]
            if not self._worded_like(message, ranking[0][INTENT_NAME_KEY]):
                ranking = [e for e in ranking if e[INTENT_NAME_KEY] not in self.act_words] or ranking
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config["ranking_length"] > 0:
                ranking = ranking[: self.config["ranking_length"]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


def _words(message: Message) -> List[str]:
    """The message's words, lower-cased (no numbers, punctuation or emoji)."""
    return [
        word for token in message.get(TOKENS_NAMES[TEXT]) or [] for word in WORD.findall(token.text.lower())
    ]
