"""The project's own web app (aiohttp): the demo municipal page with the chat widget, the widget's files,
and the printable meeting checklists. Started by `make run` beside the Rasa and action servers."""
