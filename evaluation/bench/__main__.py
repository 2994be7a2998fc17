"""``python -m evaluation.bench``: see the package docstring for the options."""

from evaluation.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
