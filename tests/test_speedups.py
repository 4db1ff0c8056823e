"""The speed-ups behave like what they replace: the cached schema validation like jsonschema.validate
(same acceptance, same errors), the event table like Event.resolve_by_type."""

import jsonschema
import pytest

from bot.server.speedups import cached_validate

SCHEMA = {
    "type": "object",
    "properties": {"events": {"type": "array", "items": {"type": "object"}}},
    "required": ["events"],
}


def test_valid_instances_pass_and_invalid_raise_the_same_error():
    validate = cached_validate()
    validate({"events": [{}]}, SCHEMA)
    validate({"events": []}, dict(SCHEMA))  # an equal schema built anew hits the cache
    with pytest.raises(jsonschema.ValidationError) as cached:
        validate({"events": "x"}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as plain:
        jsonschema.validate({"events": "x"}, SCHEMA)
    assert cached.value.message == plain.value.message


def test_an_invalid_schema_is_still_rejected():
    with pytest.raises(jsonschema.SchemaError):
        cached_validate()({}, {"type": "no-such-type"})


def test_events_resolve_to_the_same_class_as_rasa_s_own_lookup():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    from bot.server.speedups import cached_resolve_by_type

    original = Event.resolve_by_type
    resolve = cached_resolve_by_type(original).__func__
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert resolve(name) is original(name), name
    assert resolve("topic") is None and resolve("no-such-event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name"):
        resolve("no-such-event")

    class LateEvent(Event):  # imported after the table was built: found on the miss
        type_name = "late_event_for_the_test"

        def __eq__(self, other):
            return self is other

        def as_story_string(self):
            return None

    assert resolve("late_event_for_the_test") is LateEvent


def test_the_slot_validation_call_carries_this_turn_and_the_answer_call_everything():
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.server.speedups import validation_sees_this_turn

    domain = Domain.load("domain.yml")
    events = [
        ActionExecuted("action_listen"),
        UserUttered("vi bor i Vejle", {"name": "inform", "confidence": 0.9}),
        SlotSet("municipality", "Vejle"),
        BotUttered("Tak, det har jeg noteret."),
        ActionExecuted("action_listen"),
        UserUttered("hvad er aflastning?", {"name": "ask_question", "confidence": 0.9}),
        SlotSet("age", 7.0),
    ]
    tracker = DialogueStateTracker.from_events("s", events, slots=domain.slots)
    call_format = validation_sees_this_turn(RemoteAction._action_call_format)
    endpoint = EndpointConfig("http://localhost:5055/webhook")

    validation = call_format(RemoteAction("action_validate_slot_mappings", endpoint), tracker, domain)
    answer = call_format(RemoteAction("action_answer", endpoint), tracker, domain)
    unpatched = RemoteAction._action_call_format(RemoteAction("action_answer", endpoint), tracker, domain)

    assert [e["event"] for e in validation["tracker"]["events"]] == ["user", "slot"]
    assert validation["tracker"]["events"][0]["text"] == "hvad er aflastning?"
    assert validation["tracker"]["slots"]["municipality"] == "Vejle"  # slots from the whole conversation
    assert validation["tracker"]["latest_message"]["text"] == "hvad er aflastning?"
    assert validation["next_action"] == "action_validate_slot_mappings" and validation["sender_id"] == "s"
    assert {k: v for k, v in validation["tracker"].items() if k != "events"} == {
        k: v for k, v in unpatched["tracker"].items() if k != "events"
    }
    assert answer == unpatched and len(answer["tracker"]["events"]) == len(events)
