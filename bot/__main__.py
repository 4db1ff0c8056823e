"""`python -m bot …`: the operator CLI (bot/ops/cli.py)."""

from bot.ops.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
