"""The project's Danish spaCy pipeline (see builder)."""
