"""The cached schema validation behaves like jsonschema.validate: same acceptance, same errors."""

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
