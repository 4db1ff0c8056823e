"""Operator tooling, run from a shell or make: the CLI (`python -m bot`), starting the processes, the
cluster, training, building the spaCy pipeline and the name list, and the usage report."""
