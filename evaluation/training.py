"""Reading Rasa's training log: how long each component trained and DIET's seconds per epoch (printed by
benchmarks/training.py, checked by tests/test_training.py)."""

from __future__ import annotations

import re

COMPONENT = re.compile(r"(Starting to train|Finished training) component '([^']+)'")


EPOCHS = re.compile(r"Epochs: 100%\|[^|]*\| (\d+)/\d+ \[(\d+):(\d+)<")


def phases(stamped_lines) -> dict:
    """From (seconds since start, log line) pairs:
    the seconds each component trained and DIET's seconds per epoch."""
    began, components, epoch_line = {}, {}, None
    for now, line in stamped_lines:
        for chunk in line.split("\r"):  # tqdm rewrites its progress line with carriage returns
            match = COMPONENT.search(chunk)
            if match and match.group(1).startswith("Starting"):
                began[match.group(2)] = now
            elif match:
                name = match.group(2)
                components[name] = components.get(name, 0.0) + now - began.pop(name, now)
            epoch_line = EPOCHS.search(chunk) or epoch_line
    result = {"components": components}
    if epoch_line:
        epochs, minutes, seconds = (int(group) for group in epoch_line.groups())
        result["epoch"] = (60 * minutes + seconds) / epochs
    return result
