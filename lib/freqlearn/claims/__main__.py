"""``python -m freqlearn.claims COMMAND ...`` (see :mod:`freqlearn.claims.cli`)."""

from .cli import main

raise SystemExit(main())
