"""``python -m steepest``: the same as the ``steepest`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
