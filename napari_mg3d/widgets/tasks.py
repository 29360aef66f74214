"""Long work off the Qt event loop: a generator run in a napari worker thread, with a progress bar
in the viewer's activity dock, a cancel between its steps, and errors as notifications.

The generator yields a short status text between steps and returns its result; ``on_result``
runs on the main thread, so it may touch layers."""

from __future__ import annotations

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


def run_task(work, description: str, on_result=None, owner=None, on_error=None):
    """Start ``work()`` (a generator function) in a worker; returns the worker.
    ``owner`` (a TaskBar) shows its status and offers Cancel."""
    def steps():
        result = yield from work()
        yield "finishing"  # a Cancel pressed during the last step takes effect here: no result shown
        return result

    worker = create_worker(steps, _progress={"total": 0, "desc": description}, _ignore_errors=True)
    for signal, relay in ((worker.errored, "_relay_error"), (worker.warned, "_relay_warning")):
        try:  # napari's own relays show tracebacks; ours show one line
            signal.disconnect(getattr(worker, relay))
        except (AttributeError, TypeError, RuntimeError):
            pass  # not connected in this napari version
    if on_result is not None:
        worker.returned.connect(on_result)
    worker.errored.connect(lambda exc: show_error(error_message(exc)))
    if on_error is not None:
        worker.errored.connect(lambda exc: on_error(error_message(exc)))
    worker.warned.connect(lambda w: _relay_warning(w))
    worker.aborted.connect(lambda: show_info(f"{description}: cancelled"))
    if owner is not None:
        owner.task_started(worker, description)
        worker.yielded.connect(lambda value: owner.task_step(value))
        worker.finished.connect(lambda: owner.task_finished(worker))
    worker.start()
    return worker


def _relay_warning(args: tuple) -> None:
    """Our own warnings (a modality that differs from the checkpoint's, ...) become notifications;
    other libraries' import-time chatter does not."""
    message, filename = args[0], str(args[2]) if len(args) > 2 else ""
    if "napari_mg3d" in filename:
        show_warning(str(message))


def error_message(exc: BaseException) -> str:
    """One line a user can act on: our InputErrors as they are, anything else with its type."""
    from ..io.errors import InputError

    if isinstance(exc, InputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: try a smaller volume, a smaller model or another device"
    return f"{type(exc).__name__}: {exc}"


class TaskBar(QWidget):
    """A status line and a Cancel button for one widget's background task."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self._cancel)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.status, stretch=1)
        row.addWidget(self.cancel)
        self.worker = None

    def task_started(self, worker, description: str) -> None:
        self.worker = worker
        self.status.setText(description + " ...")
        self.cancel.setEnabled(True)

    def task_step(self, text: str) -> None:
        self.status.setText(text + " ...")

    def task_finished(self, worker) -> None:
        if worker is self.worker:
            self.worker = None
            self.cancel.setEnabled(False)
            self.status.setText("")

    def busy(self) -> bool:
        return self.worker is not None

    def _cancel(self) -> None:
        if self.worker is not None:
            self.worker.quit()
            self.status.setText("cancelling ...")
