"""Everything that runs the assistant: CLI, Danish NLP pipeline, process supervision, channels."""
