"""``python -m tfus.workflows.cli`` runs the ``tfus`` command (same as the console script)."""

from tfus.workflows.cli import main

if __name__ == "__main__":
    main()
