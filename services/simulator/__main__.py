"""`python -m services.simulator` runs the simulator CLI."""

from services.simulator.cli import main

raise SystemExit(main())
