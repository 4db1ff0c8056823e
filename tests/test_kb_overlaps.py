"""`make kb-overlaps` (knowledge_base/overlaps.py): asks that the other asks put in another topic."""

from bot.ops.cli import main as cli_main
from knowledge_base.overlaps import misplaced

SUBJECTS = {
    "topic:klage": ["klage over afgørelsen", "klagefrist på afslaget", "klage til ankestyrelsen over afslag"],
    "topic:sagsbehandling": [
        "aktindsigt i sagen",
        "aktindsigt i journalen",
        "bede om aktindsigt i sagens akter",
    ],
}


def examples_with_one_stray():
    examples = []
    for label, phrases in SUBJECTS.items():
        for n in range(4):
            examples += [(f"{p} nummer {n}", label) for p in phrases]
    # written under klage, but it asks what the sagsbehandling asks ask
    examples.append(("hvordan får vi aktindsigt i sagen", "topic:klage"))
    return examples


def test_an_ask_written_under_the_wrong_topic_is_reported_with_the_topic_it_reads_as():
    overlaps = misplaced(examples_with_one_stray())
    assert [(o.text, o.topic, o.reads_as) for o in overlaps] == [
        ("hvordan får vi aktindsigt i sagen", "klage", "sagsbehandling")
    ]


def test_without_a_stray_ask_nothing_is_reported():
    assert misplaced(examples_with_one_stray()[:-1]) == []


def test_the_command_lists_overlaps_of_the_real_content_and_sums_them_up(capsys):
    code = cli_main(["kb", "overlaps"])
    out = capsys.readouterr().out
    assert code == 0
    assert "asks læses som et andet emnes. Flest:" in out.splitlines()[-1]
    assert " → " in out.splitlines()[0]
