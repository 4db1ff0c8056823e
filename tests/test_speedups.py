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
