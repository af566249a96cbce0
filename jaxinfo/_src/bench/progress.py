"""A one-line progress bar for long runs (``jaxinfo bench``, ``measure``, critic training)."""

from __future__ import annotations

import sys
import time


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per update elsewhere.

    Args:
      total: the number of steps.
      stream: where to write (default ``sys.stderr``).
      enabled: ``False`` writes nothing; ``None`` writes only when ``stream`` is a terminal.
      width: characters of the bar.
    """

    def __init__(self, total: int, stream=None, *, enabled: bool | None = True, width: int = 28):
        self.total, self.done, self.width = total, 0, width
        self.stream = sys.stderr if stream is None else stream
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.interactive if enabled is None else enabled
        self.start = time.perf_counter()
        self._line_open = False

    def update(self, done: int, label: str) -> None:
        """Shows ``done`` steps finished; ``label`` says what the last one did."""
        self.done = done
        if not self.enabled:
            return
        filled = round(self.width * done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        line = f"[{bar}] step {done}/{self.total} {elapsed:6.1f} s  {label}"
        if self.interactive:
            self.stream.write("\r" + line[:110].ljust(110))
            self._line_open = True
            if done >= self.total:
                self.close()
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def step(self, label: str) -> None:
        """Marks one more step finished."""
        self.update(self.done + 1, label)

    def close(self) -> None:
        """Ends the redrawn line (needed when a run stops before ``total``)."""
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False
