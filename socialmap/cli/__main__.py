"""``python -m socialmap.cli``: the ``socialmap`` command."""

from socialmap.cli.main import main

if __name__ == "__main__":
    main()
