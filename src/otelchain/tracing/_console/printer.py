"""`Printer`: one console stream, written in whole prints that never raise, with the terminal's
conventions (``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb``, width); `Printing`, what every console view
keeps of it."""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from otelchain._options import check_bool, check_int
from otelchain._secrets import scrub_known

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

__all__ = ["NO_WRAP_WIDTH", "Printer", "Printing", "clean", "console_width", "fits", "use_color"]

logger = logging.getLogger("otelchain.tracing")


_FALSY = frozenset({"0", "false", "no", "off"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_TRAILING = re.compile(r"(?:[ ]|\x1b\[[0-9;]*m)+$", re.M)  # padding rich leaves at line ends
_CODE = re.compile(r"\x1b\[[0-9;]*m")
# Off a terminal (a pipe, a file, CI logs) lines are not wrapped, so grep sees each one whole;
# values stay bounded by their limits. A terminal that reports 0 columns gets rich's fallback.
NO_WRAP_WIDTH = 1_000_000
_FALLBACK_WIDTH = 80

# --- terminal conventions ----------------------------------------------------------------------


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # closed, or not a real file
        return False


def use_color(stream: IO[str], forced: bool | None = None) -> bool:
    """Whether to colour ``stream``: ``forced`` if given; else ``NO_COLOR`` (set, non-empty) turns
    colours off, ``FORCE_COLOR`` turns them on even when piped (``0``/``false`` off), ``TERM=dumb``
    off; otherwise only on a terminal (the order pytest and most CLI tools use)."""
    if forced is not None:
        return forced
    env = os.environ
    if env.get("NO_COLOR"):
        return False
    force = env.get("FORCE_COLOR")
    if force is not None and force.strip():
        return force.strip().lower() not in _FALSY
    if env.get("TERM", "").strip().lower() == "dumb":
        return False
    return _isatty(stream)


def console_width(stream: IO[str], width: int | None = None) -> int:
    """Columns to fit: ``width`` if given, else ``COLUMNS``, else the terminal's (80 when it
    reports none); off a terminal, `NO_WRAP_WIDTH` (lines are never wrapped)."""
    if width is not None:
        return max(int(width), 20)
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), 20)
    if not _isatty(stream):
        return NO_WRAP_WIDTH
    try:
        reported = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return _FALLBACK_WIDTH
    return max(reported, 20) if reported > 0 else _FALLBACK_WIDTH


def clean(text: str) -> str:
    """Lone surrogates (invalid UTF-16, unprintable) shown as ``\\udXXX`` escapes."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Capture(io.StringIO):
    """Where rich renders; carries the real stream's encoding (ASCII guides on an ASCII stream)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


_write_lock = threading.Lock()  # one lock for every console writer: lines never interleave


class Printer:
    """Renders rich renderables for one stream and writes each print in one piece.

    Never raises: an output failure (closed stream, encoding) is counted in :attr:`failures`
    and logged (the 1st, 10th, 100th... time), so nothing is dropped silently.
    """

    def __init__(self, stream: IO[str] | None = None, color: bool | None = None, width: int | None = None):
        self._stream = stream
        self.color = check_bool("color", color, none=True)  # "yes" must not mean "the default"
        self.width = check_int("width", width, 1, none="fitting the terminal")
        self.failures = 0
        self._consoles: dict[tuple[bool, int, str], Console] = {}
        self._lock = threading.Lock()

    @property
    def stream(self) -> IO[str]:
        """The stream given, else the current ``sys.stdout`` (looked up at each print)."""
        return self._stream if self._stream is not None else sys.stdout

    def _console(self, color: bool, width: int, encoding: str) -> Console:
        key = (color, width, encoding)
        console = self._consoles.get(key)
        if console is None:
            from rich.console import Console

            console = Console(
                file=_Capture(encoding),
                width=width,
                color_system="standard" if color else None,
                force_terminal=color,
                force_jupyter=False,
                force_interactive=False,
                no_color=False,
                markup=False,
                emoji=False,
                highlight=False,
                legacy_windows=False,
                tab_size=4,
            )
            if len(self._consoles) > 8:  # terminal resizes: keep a few
                self._consoles.clear()
            self._consoles[key] = console
        return console

    def render(self, *renderables: RenderableType) -> str:
        """The text (with ANSI codes when colour is on) these renderables print as."""
        stream = self.stream
        on = use_color(stream, self.color)
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
        with self._lock:
            console = self._console(on, console_width(stream, self.width), encoding)
            text = "".join(_ansi(console, renderable, on) for renderable in renderables)
        return _encodable(_TRAILING.sub(_keep_codes, clean(scrub_known(text))), encoding)

    def print(self, *renderables: RenderableType) -> None:
        try:
            text = self.render(*renderables)
            stream = self.stream
            with _write_lock:
                stream.write(text)
                stream.flush()
        except Exception as error:
            self.failures += 1
            if str(self.failures).strip("0") == "1":  # 1, 10, 100, ...
                logger.warning(
                    "otelchain console: output failed (%d so far): %s: %s",
                    self.failures,
                    type(error).__name__,
                    clean(str(error))[:200],
                )


def _ansi(console: Console, renderable: RenderableType, color: bool) -> str:
    """One renderable as text ending in a newline, with ANSI codes when colour is on.

    Renders the segments and joins them (what ``Console.print`` does, minus its buffering and
    hooks); a text whose lines already fit is not wrapped at all: the verbose hot path."""
    from rich.color import ColorSystem
    from rich.segment import Segment
    from rich.text import Text

    options = console.options
    if isinstance(renderable, Text):
        if fits(renderable, options.max_width):
            segments: Iterable[Segment] = [*renderable.render(console), Segment.line()]
        else:
            segments = [*console.render(renderable, options)]
    else:
        segments = console.render(renderable, options)
    if not color:
        return "".join(segment.text for segment in segments if not segment.control)
    system = ColorSystem.STANDARD
    return "".join(
        segment.style.render(segment.text, color_system=system) if segment.style else segment.text
        for segment in segments
        if not segment.control
    )


def _keep_codes(match: re.Match[str]) -> str:
    """Trailing padding dropped, the colour codes in it kept."""
    return "".join(_CODE.findall(match.group()))


def _encodable(text: str, encoding: str) -> str:
    """What the stream can encode; anything else as backslash escapes (never a lost line)."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text


def fits(text: Text, width: int) -> bool:
    """Whether every line of this (ASCII, tab-free) text fits in ``width`` as it is."""
    plain = text.plain
    return plain.isascii() and "\t" not in plain and all(len(line) <= width for line in plain.split("\n"))


class Printing:
    """What every console view keeps: its `Printer`, and through it the stream and colour setting."""

    printer: Printer

    @property
    def stream(self) -> IO[str]:
        return self.printer.stream

    @property
    def color(self) -> bool | None:
        return self.printer.color

    @color.setter
    def color(self, value: bool | None) -> None:
        self.printer.color = value
