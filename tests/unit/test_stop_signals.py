"""A stop signal that arrives while a component starts ends it with exit 0: also when the
interrupt leaves a string `exec` (dataclasses at import), and also when Python swallows
it (raised in a `__del__`), since the component's own handlers get it again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests_support import ROOT

STOP_DURING_EXEC = """
    import os, signal, sys
    from services.runtime.stop_signals import interrupt_on
    interrupt_on((signal.SIGTERM,))
    try:
        # what dataclasses do at import, with the signal landing inside
        exec("import os, signal\\nos.kill(os.getpid(), signal.SIGTERM)\\nfor _ in range(9): pass")
    except KeyboardInterrupt:
        print("stopped")
    sys.exit(0)
"""

STOP_SWALLOWED = """
    import os, signal, sys
    from services.runtime.stop_signals import forward_early_stop, interrupt_on
    interrupt_on((signal.SIGTERM,))

    class Dropped:
        def __del__(self):  # Python reports an exception raised here, and goes on
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(9):
                pass

    Dropped()
    taken = []
    signal.signal(signal.SIGTERM, lambda signum, frame: taken.append(signum))  # the component's
    forward_early_stop()
    print("forwarded" if taken == [signal.SIGTERM] else f"lost {taken}")
    sys.exit(0)
"""


def _run_as_module(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "probe_main.py").write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "probe_main"], cwd=tmp_path, text=True,
                          capture_output=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_a_stop_leaving_a_string_exec_still_exits_zero(tmp_path: Path) -> None:
    done = _run_as_module(tmp_path, STOP_DURING_EXEC)
    assert done.stdout.strip() == "stopped", done.stderr
    assert done.returncode == 0, done.stderr  # -2 with a plain KeyboardInterrupt


def test_a_swallowed_stop_reaches_the_handlers_installed_later(tmp_path: Path) -> None:
    done = _run_as_module(tmp_path, STOP_SWALLOWED)
    assert "Exception ignored" in done.stderr  # the interrupt was indeed swallowed
    assert done.stdout.strip() == "forwarded", done.stderr
    assert done.returncode == 0, done.stderr
