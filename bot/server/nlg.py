"""Domain responses (greeting, thanks, feedback …) with the conversation's region in their custom payload.

The reply contract sends `region` on every reply once a municipality is known. The responses in domain.yml
cannot name it themselves (an empty slot would be interpolated as "None"), so this generator, Rasa's own
templated one, adds the slot's value to a response that has a custom payload. Configured in endpoints.yml
(`nlg: type: bot.server.nlg.RegionAwareResponses`), Rasa's extension point for response generation.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

REGION_SLOT = "region"


class RegionAwareResponses(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def generate_from_slots(
        self, utter_action: str, filled_slots: dict[str, Any], output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        response = super().generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
        region = (filled_slots or {}).get(REGION_SLOT)
        if response and region and isinstance(response.get("custom"), dict):
            response["custom"] = {**response["custom"], REGION_SLOT: region}
        return response
