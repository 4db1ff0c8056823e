"""Custom actions (rasa_sdk): thin; they ask the knowledge base and format replies."""
