"""The training benchmark's reading of Rasa's log, on lines as `rasa train` prints them."""

from bot.ops.training import MODEL_NAME, rasa_train_command, write_question_examples
from core.config import load_settings
from evaluation.training import phases

HOOKS = "2026-12-02 05:18:{} INFO     rasa.engine.training.hooks  - {} component '{}'."
TQDM = (
    "Epochs:  96%|█████████▌| 24/25 [02:33<00:06,  6.1s/it, t_loss=2.6]\r"
    "Epochs: 100%|██████████| 25/25 [02:39<00:00,  6.38s/it, t_loss=2.57, i_acc=0.989, e_f1=0.978]\r"
)


def test_phases_time_each_component_and_diet_epochs():
    lines = [
        (20.0, HOOKS.format("24", "Starting to train", "CountVectorsFeaturizer")),
        (21.0, HOOKS.format("25", "Finished training", "CountVectorsFeaturizer")),
        (24.0, HOOKS.format("28", "Starting to train", "CountVectorsFeaturizer")),
        (26.5, HOOKS.format("30", "Finished training", "CountVectorsFeaturizer")),
        (30.0, HOOKS.format("34", "Starting to train", "DIETClassifier")),
        (150.0, TQDM),
        (195.0, HOOKS.format("59", "Finished training", "DIETClassifier")),
    ]
    result = phases(lines)
    assert result["components"] == {"CountVectorsFeaturizer": 3.5, "DIETClassifier": 165.0}
    assert result["epoch"] == 159 / 25


def test_phases_without_diet_have_no_epoch_figure():
    result = phases(
        [(1.0, "Training Core model..."), (2.0, HOOKS.format("01", "Starting to train", "RulePolicy"))]
    )
    assert result == {"components": {}}


def test_training_is_forced_into_the_given_folder_under_the_fixed_name(tmp_path):
    command = rasa_train_command(tmp_path, load_settings())
    assert command[command.index("--out") + 1] == str(tmp_path)
    assert command[command.index("--fixed-model-name") + 1] == MODEL_NAME
    assert "--force" in command


def test_the_question_examples_for_rasa_come_from_the_knowledge_base(tmp_path, content_copy, monkeypatch):
    """Every `asks` line becomes an ask_question example, except texts data/nlu already holds."""
    import yaml

    from tests.conftest import edit_yaml

    edit_yaml(
        content_copy / "topics" / "klage.yml",
        lambda d: d["asks"].append("hvordan anker jeg en afgørelse om bil"),
    )
    monkeypatch.setenv("KB_CONTENT_DIR", str(content_copy))
    monkeypatch.setenv("FORLOB_BUILD_DIR", str(tmp_path / "build"))
    target = write_question_examples(load_settings())
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    examples = [line[2:] for line in data["nlu"][0]["examples"].splitlines()]
    assert data["nlu"][0]["intent"] == "ask_question"
    assert "hvordan anker jeg en afgørelse om bil" in examples
    assert "vidensberedskab" in examples
    # annotated in data/nlu/questions.yml (its age teaches the entity extractor): not repeated plain
    assert "kommunen kender ikke min søns diagnose, han er 7" not in examples
