"""The shared core: what the action server, the Rasa server extensions, the web app and the operator tools
all need. Settings (config), the reply contract and its Danish texts (replies, texts.yml), reading a
conversation from its events (conversation), Rasa's events table (events_table), the checklist links
(checklist_links) and redaction of personal data (redaction).

It imports only `knowledge_base` and libraries, never `actions` or `bot` (tests/test_layers.py).
"""
