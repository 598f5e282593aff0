"""``python -m dispatchc``."""

from .cli import main

raise SystemExit(main())
