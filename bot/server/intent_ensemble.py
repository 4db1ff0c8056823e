"""Intent classifier for the conversational act (ask a question, tell the situation, ask for a person …): a
linear support-vector machine on its own tf-idf vocabularies (lemma unigrams and bigrams, and up to 20 000
character n-grams with logarithmic term counts). Its decision values become probabilities by a softmax with a
temperature, so that the FallbackClassifier can judge the confidence.

It is the only intent classifier in config.yml: DIET beside it gave the same development-set results at
several times the training and prediction cost (docs/decisions.md). When another classifier runs before it,
its ranking is averaged with that one's (`diet_weight` is the other classifier's share).

Usage in config.yml, after the tokenizer that sets lemmas and before FallbackClassifier:

    - name: bot.server.intent_ensemble.IntentEnsemble
      temperature: 10      # softmax sharpness over the machine's decision values
"""

from __future__ import annotations

import logging
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
        self.words, self.chars, self.clf = parts or (
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
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as folder:
            sio.dump((self.words, self.chars, self.clf), folder / FILE)
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
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config["ranking_length"] > 0:
                ranking = ranking[: self.config["ranking_length"]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
