"""`mg3d ARGS` run in the test process: the interpreter's start and imports (seconds a call) are
saved; exit code, stdout and stderr as ``subprocess.run`` gives them. Warnings are shown every time,
as a fresh process would show them. Training commands stay in their own process (Lightning)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings


def mg3d(*args) -> subprocess.CompletedProcess:
    from napari_mg3d.cli import main

    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        # to stderr, as in a process of its own (pytest records them otherwise)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
