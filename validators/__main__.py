from __future__ import annotations

from validators.cli import main

raise SystemExit(main())
