"""Options read and checked one way. An environment variable never stops the app: every boolean
accepts the same spellings, and a value otelchain cannot use is reported once (the variable, its
value, the valid values and what is used instead) and the default used. An argument in code is
checked up front: one `TypeError` or `ValueError` naming it and what it accepts."""

from __future__ import annotations

import logging
import math
import os
import threading

from otelchain._secrets import scrub

__all__ = [
    "BOOLEAN",
    "FALSE",
    "TRUE",
    "check_bool",
    "check_int",
    "check_seconds",
    "env_flag",
    "first_report",
    "report_env",
]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
BOOLEAN = "a boolean (true/false, 1/0, yes/no, on/off)"

_default_logger = logging.getLogger("otelchain")
_reported: set[tuple[str, str]] = set()
_lock = threading.Lock()


# --- environment variables ---------------------------------------------------------------------


def first_report(name: str, value: str) -> bool:
    """Whether (variable, value) is reported now for the first time: each bad value is reported
    once, however often it is read."""
    with _lock:
        if (name, value) in _reported:
            return False
        _reported.add((name, value))
        return True


def report_env(
    name: str, value: str, expected: str, using: str, logger: logging.Logger | None = None
) -> None:
    """One warning per (variable, value), however often it is read:
    ``otelchain: NAME='value' is not <expected>; using <using>`` (value bounded, secrets scrubbed)."""
    if not first_report(name, value):
        return
    shown = scrub(value if len(value) <= 64 else value[:64] + "...")
    (logger or _default_logger).warning("otelchain: %s=%r is not %s; using %s", name, shown, expected, using)


def env_flag(name: str, default: bool, logger: logging.Logger | None = None) -> bool:
    """The boolean variable ``name``: unset or blank, ``default``; a value that is not a boolean
    is reported once (`report_env`) and ``default`` is used."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    report_env(name, raw.strip(), BOOLEAN, f"the default ({'on' if default else 'off'})", logger)
    return default


# --- arguments ---------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """A wrong value for a message: a short scalar as itself and its type, else its type."""
    if isinstance(value, (str, bool, int, float)) and len(repr(value)) <= 40:
        return f"{value!r} ({type(value).__name__})"
    return type(value).__name__


def check_bool(name: str, value: object, *, none: bool = False) -> bool | None:
    """``value`` if it is a bool (or None when ``none``), else a `TypeError` naming ``name``
    (``"no"`` is not false, so no truthiness)."""
    if isinstance(value, bool) or (none and value is None):
        return value
    accepted = "True, False or None" if none else "True or False"
    raise TypeError(f"{name} must be {accepted}, got {_shown(value)}")


def check_int(name: str, value: object, minimum: int, *, none: str | None = None) -> int | None:
    """``value`` if it is an int of at least ``minimum``; None too when ``none`` says what None
    means. Otherwise a `TypeError` or `ValueError` naming ``name``."""
    if value is None and none is not None:
        return None
    also = f" (or None for {none})" if none is not None else ""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int of at least {minimum}{also}, got {_shown(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}{also}, got {value!r}")
    return value


def check_seconds(
    name: str, value: object, *, positive: bool = False, none: str | None = None
) -> float | None:
    """``value`` as seconds: a finite number, at least 0 (above 0 when ``positive``); None too
    when ``none`` says what None means. Otherwise a `TypeError` or `ValueError` naming ``name``."""
    if value is None and none is not None:
        return None
    bound = "> 0" if positive else ">= 0"
    also = f" (or None for {none})" if none is not None else ""
    accepted = f"{name} must be a number of seconds {bound}{also}"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{accepted}, got {_shown(value)}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{accepted}, got {value!r}")
    return float(value)
