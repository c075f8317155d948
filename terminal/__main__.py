"""``python -m terminal`` is the same as the ``scanpoint`` console script."""

from terminal.cli import main

raise SystemExit(main())
