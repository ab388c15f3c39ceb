"""Shared pytest set-up for every tier.

The project root is the import root (`schemas`, `projections`, `streams`,
`services`); put it on sys.path so the suite also runs before `pip install -e .`.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
