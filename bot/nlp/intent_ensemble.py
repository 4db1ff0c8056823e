"""Intent classifier that averages DIET's ranking with a logistic regression on the same sparse features.

Why: DIET and a linear model err on different utterances (in cross-validation they shared fewer than half
of their misses), so their averaged probabilities are right more often than either alone. The linear model
reads the sentence features the featurizers already computed (lemma counts, character n-grams, lookup
tables), so nothing is featurized twice.

Usage in config.yml, after DIETClassifier and before FallbackClassifier (which then judges the averaged
confidence):

    - name: bot.nlp.intent_ensemble.IntentEnsemble
      diet_weight: 0.5     # share of DIET's confidence in the average; the rest is the linear model's
      C: 10                # inverse regularisation strength of the logistic regression
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from sklearn.linear_model import LogisticRegression

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentEnsemble(LogisticRegressionClassifier):
    """Rasa's logistic regression classifier, combined with the intent ranking already on the message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "diet_weight": 0.5, "C": 10.0,
                "max_iter": 1000}

    def __init__(self, config: Dict[Text, Any], *args: Any) -> None:
        super().__init__(config, *args)
        self.clf = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"],
                                      solver=self.config["solver"], tol=self.config["tol"],
                                      random_state=self.config["random_state"], class_weight="balanced")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves the training examples' labels alone (the parent class overwrites them with predictions)."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace the message's intent and ranking by the weighted average of DIET's and ours."""
        if not hasattr(self.clf, "classes_"):  # no intents were trained (empty NLU data)
            return messages
        probabilities = self.clf.predict_proba(self._create_X(messages))
        for message, row in zip(messages, probabilities):
            earlier = {entry[INTENT_NAME_KEY]: entry[PREDICTED_CONFIDENCE_KEY]
                       for entry in message.get(INTENT_RANKING_KEY) or []}
            weight = self.config["diet_weight"] if earlier else 0.0  # alone, it is a plain classifier
            combined = {name: weight * earlier.get(name, 0.0) + (1 - weight) * float(p)
                        for name, p in zip(self.clf.classes_, row)}
            ranking = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                       for name, confidence in sorted(combined.items(), key=lambda item: -item[1])]
            message.set(INTENT, ranking[0], add_to_output=True)
            if self.config[RANKING_LENGTH] > 0:
                ranking = ranking[: self.config[RANKING_LENGTH]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
