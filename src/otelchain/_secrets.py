"""Secrets never leave the process in otelchain's output: by name and by value.

- **By name.** `is_secret_key` says whether a key names a secret, in any spelling: the key is
  split into words (camelCase, PascalCase, snake_case, kebab-case, dots, spaces) and matched as a
  whole: a word or run of words such as *secret*, *password*, *passwd*, *passphrase*,
  *pwd*, *credential(s)*, *cookie*, *auth*, *authorization*, *api key*, *private key*, *access/
  secret/signing/client/account key*, and *token* as the last word (``accessToken``, ``session_token``,
  ``X-Auth-Token``; not ``max_tokens`` or ``prompt_token``). The JSON encoder redacts the value
  of every such key at any depth; free text (error messages, stack texts) has ``name=value`` and
  ``name: value`` pairs with such names redacted by `scrub`.
- **By value.** `register_secret` takes a value otelchain knows to be secret (the API key a model
  was configured with, whatever its format, and its auth headers): `scrub` and `scrub_known`
  replace it wherever it appears in text otelchain emits (span attributes and events, span
  status, exception messages and stack texts, log records of otelchain's loggers, the console).
"""

from __future__ import annotations

import functools
import logging
import re
import threading

__all__ = [
    "REDACTED",
    "install_log_scrubbing",
    "is_secret_key",
    "known_secrets",
    "register_secret",
    "scrub",
    "scrub_known",
]

REDACTED = "[REDACTED]"

# --- by name ----------------------------------------------------------------------------------
# Words of a key: an acronym (not swallowing a following capitalised word), a word, or digits.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# A word (or a key written as one word, lower case) that names a secret wherever it stands.
_SECRET_WORDS = frozenset(
    {
        "secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "credential",
        "credentials", "cookie", "cookies", "auth", "authorization", "apikey", "apikeys",
        "privatekey", "secretkey", "accesskey", "accesstoken", "refreshtoken", "sessiontoken",
        "authtoken", "bearertoken", "idtoken", "clientsecret", "setcookie",
    }
)  # fmt: skip
# Parts of a one-word key that name a secret inside it (``xapikey``, ``dbpassword``).
_SECRET_PARTS = ("secret", "password", "passwd", "passphrase", "credential", "apikey", "privatekey")
# "<word> key" pairs that name a secret key (``api_key``, ``privateKey``, ``X-API-Key``).
_KEY_KINDS = frozenset(
    {"api", "private", "secret", "access", "signing", "encryption", "client", "master", "account"}
)
# "<word> token" pairs that count tokens, not hold one.
_COUNTS = frozenset(
    {"max", "prompt", "completion", "total", "input", "output", "new", "reasoning", "num", "cached"}
)
_CACHE_MAX = 4096


@functools.lru_cache(maxsize=_CACHE_MAX)
def is_secret_key(key: str) -> bool:
    """True for names such as ``api_key``, ``Authorization``, ``accessToken``, ``private-key``,
    ``sessionToken``, ``passphrase`` (not ``max_tokens``, ``author`` or ``cache_key``)."""
    words = [w.lower() for w in _WORDS.findall(key)]
    if not words:
        return False
    joined = "".join(words)
    if joined in _SECRET_WORDS or any(part in joined for part in _SECRET_PARTS):
        return True
    for i, word in enumerate(words):
        if word in _SECRET_WORDS:
            return True
        if word == "key" and i > 0 and words[i - 1] in _KEY_KINDS:
            return True
    if words[-1] == "token":
        return len(words) == 1 or words[-2] not in _COUNTS
    return len(words) == 1 and joined.endswith("token")


# --- by value ---------------------------------------------------------------------------------
_known: tuple[str, ...] = ()  # longest first, so a secret containing another is replaced whole
_known_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Scrub this exact value (an API key, a configured auth header) from every text otelchain
    emits. Values shorter than 6 characters are ignored (they would match ordinary text)."""
    global _known
    if not value or len(value) < 6:
        return
    with _known_lock:
        if value in _known:
            return
        _known = tuple(sorted({*_known, value}, key=len, reverse=True))


def known_secrets() -> tuple[str, ...]:
    """The values registered so far (longest first)."""
    return _known


def scrub_known(text: str) -> str:
    """``text`` with every registered secret value replaced by ``[REDACTED]`` (cheap when there
    are none, or none occurs)."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# Credentials inside free text (error messages, stack texts): bearer tokens, URL userinfo,
# OpenAI-style keys, and ``name=value`` / ``name: value`` pairs whose name is secret-looking. The
# value is replaced, the name kept. A name is only looked ahead of (its value is read only when the
# name names a secret) and names and schemes are bounded, so any text is scanned in linear time.
_SCRUB = re.compile(
    r"(?P<bearer>\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/\s:@]+:[^/\s@]+@"
    r"|\bsk-[A-Za-z0-9_-]{16,}"
    # a whole name (it starts after no name character and is taken whole, never shortened), then
    # a separator and at least 4 characters of value, looked ahead of
    r"|(?<![A-Za-z0-9_.-])(?=(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,63}))(?P=name)"
    r"(?=(?P<sep>['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic)\s+)?[^\s'\",;&}]{4})",
    re.I,
)
_VALUE = re.compile(r"(?:(?:bearer|basic)\s+)?[^\s'\",;&}]+", re.I)


def _scrub_free(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _SCRUB.finditer(text):
        start = m.start()
        if start < pos:  # inside a value already replaced
            continue
        name = m.group("name")
        if name is not None:
            if not is_secret_key(name):
                continue
            sep = m.group("sep")
            begin = m.end("sep")
            if sep[-1] in "'\"":  # a quoted value: up to its closing quote
                end = text.find(sep[-1], begin)
                end = len(text) if end < 0 else end
            else:
                value = _VALUE.match(text, begin)
                end = value.end() if value is not None else begin
            replacement = name + sep + REDACTED
        elif m.group("bearer"):
            end, replacement = m.end(), m.group("bearer") + REDACTED
        elif m.group("scheme"):
            end, replacement = m.end(), m.group("scheme") + REDACTED + "@"
        else:
            end, replacement = m.end(), REDACTED
        out.append(text[pos:start])
        out.append(replacement)
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def scrub(text: str) -> str:
    """``text`` with credentials replaced by ``[REDACTED]``: registered values, bearer tokens,
    secret-named ``name=value`` / ``name: value`` pairs, OpenAI-style keys, URL userinfo."""
    return _scrub_free(scrub_known(text))


# --- log records ------------------------------------------------------------------------------
class _ScrubRecords(logging.Filter):
    """On otelchain's loggers: a record's message and exception text, scrubbed (`scrub`)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            clean = scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and not record.exc_text:
                record.exc_text = scrub(self._formatter.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = scrub(record.stack_info)
        except Exception:  # a record that cannot be formatted is left to logging's own handling
            pass
        return True


_log_filter = _ScrubRecords()


def install_log_scrubbing(*names: str) -> None:
    """Scrub the records of these loggers (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _log_filter not in logger.filters:
            logger.addFilter(_log_filter)
