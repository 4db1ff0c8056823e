"""The processes around the actions: `bot.server` runs inside the Rasa server, `bot.web` is the web app,
`bot.ops` the operator tooling (`python -m bot`). They share only `core` and `knowledge_base`."""
