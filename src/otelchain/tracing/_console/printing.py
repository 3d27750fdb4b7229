"""`Printing`: what every console view shares, its stream and colour setting, kept by its `Printer`."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from otelchain.tracing._console.render import Printer

__all__ = ["Printing"]


class Printing:
    """The stream and colour setting of a console view, kept by its `Printer`."""

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
