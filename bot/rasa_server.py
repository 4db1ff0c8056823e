"""Runs Rasa's own CLI (`python -m bot.rasa_server run …`) with one measured performance fix and the
outage handling of bot/availability.py (a down PostgreSQL or Redis → "prøv igen om lidt" / HTTP 503).

Profiling the REST webhook with py-spy showed ~65 % of a message's time in jsonschema: Rasa validates
every action-server response with `jsonschema.validate`, which re-checks the (large, draft 2020-12)
events schema against its meta-schema on every call. Here each schema is checked once and its validator
re-used; the validation of every response itself still runs, with the same errors.
"""
from __future__ import annotations

import json

import jsonschema
from jsonschema import exceptions, validators

MAX_CACHED_SCHEMAS = 64


def cached_validate(original=jsonschema.validate):
    cache: dict[str, object] = {}

    def validate(instance, schema, cls=None, *args, **kwargs):
        if cls is not None or args or kwargs:
            return original(instance, schema, cls, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True, default=str)
        validator = cache.get(key)
        if validator is None:
            klass = validators.validator_for(schema)
            klass.check_schema(schema)
            validator = klass(schema)
            if len(cache) < MAX_CACHED_SCHEMAS:
                cache[key] = validator
        error = exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    return validate


def main() -> None:
    jsonschema.validate = cached_validate()
    from bot.availability import install

    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
