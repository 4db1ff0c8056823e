"""The rules of bot/server/channels/rules.py on Rasa's own REST webhook (`POST /webhooks/rest/webhook`), as a
request middleware of the Rasa server's app: a refused request gets HTTP 400 and
`{"error": "<Danish reason>"}`; a message over the length limit gets the Danish request for a shorter question
in Rasa's reply format and is not handled. Everything else goes on to Rasa's channel unchanged."""

from __future__ import annotations

from sanic import response

from bot.server.channels.rules import check_message, check_sender, too_long, too_long_text

REST_WEBHOOK = "/webhooks/rest/webhook"


def add_rest_rules(app) -> None:
    @app.middleware("request")
    async def rest_rules(request):
        if request.path.rstrip("/") != REST_WEBHOOK or request.method != "POST":
            return None
        try:
            body = request.json
        except Exception:  # Sanic's own BadRequest for invalid JSON, said in Danish
            return response.json({"error": "Forespørgslen er ikke gyldig JSON."}, status=400)
        if not isinstance(body, dict):
            return response.json(
                {"error": "Forespørgslen skal være et JSON-objekt med 'sender' og 'message'."}, status=400
            )
        refusal = check_sender(body.get("sender")) or check_message(body.get("message"))
        if refusal:
            return response.json({"error": refusal.reason}, status=400)
        if too_long(body.get("message")):
            return response.json([{"recipient_id": body["sender"], "text": too_long_text()}])
        if body.get("message") is None:
            # Rasa answers a missing text with [] (silence); as an empty text it gets the greeting at the
            # start of a session and a request for text later, as on socket.io. Sanic keeps the parsed
            # body, so Rasa's channel reads this same dict.
            body["message"] = ""
        return None
