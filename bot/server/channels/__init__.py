"""Channel specifics on top of Rasa's own channels."""
