"""``python -m terminal`` is the same as the ``scanpoint`` console script."""

from terminal.cli.main import main

raise SystemExit(main())
