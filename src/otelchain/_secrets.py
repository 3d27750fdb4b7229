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
    "is_credential_header",
    "is_secret_key",
    "known_secrets",
    "register_header",
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


def is_credential_header(name: str) -> bool:
    """Whether an HTTP header may carry a credential: a secret name, or one that mentions auth,
    key or token (``Ocp-Apim-Subscription-Key``, ``x-functions-key``, ``X-Auth-Token``)."""
    lowered = name.lower()
    return is_secret_key(name) or any(word in lowered for word in ("auth", "key", "token"))


def register_header(name: str, value: object) -> None:
    """Register a request header's value (and its last word: ``Bearer <key>``) as a secret when
    the header may carry a credential."""
    if isinstance(value, str) and is_credential_header(name):
        register_secret(value)
        words = value.split()
        register_secret(words[-1] if words else None)


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


# Credentials inside free text (error messages, stack texts): bearer tokens, URL user-info,
# OpenAI-style keys, and ``name=value`` / ``name: value`` pairs whose name is
# secret-looking (also after a command line's dashes, in escaped JSON and in header tuples). The
# value is replaced, the name kept. A name is only looked ahead of (its value is read only when the
# name names a secret), names and schemes are bounded, and every scan past a name stops where the
# next one could begin or is never repeated, so any text is scanned in linear time.
_SCRUB = re.compile(
    r"(?P<bearer>\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}"
    # URL user-info: a user, a password (which may hold a raw / or @; not a host's :port), up to
    # the last @ before the host
    r"|(?<![a-z0-9+.-])(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)(?P<userinfo>[^\s/?#@:'\"<>\[\]]*"
    r"(?::(?!\d+(?:[/?#]|\Z))(?:[^\s@:'\"<>]|:(?!//))*)?@(?:[^\s@/?#'\"<>]*@)*)"
    r"|\bsk-[A-Za-z0-9_-]{16,}"
    # a header tuple: ``(b'x-api-key', b'...')``, its name quoted and whole
    r"|\(\s*b?(?P<tq>\\{0,3}['\"])(?=(?P<tname>[A-Za-z][A-Za-z0-9_.-]{0,63}))(?P=tname)(?P=tq)"
    r"\s*,\s*b?(?P<tquote>\\{0,3}['\"])(?!(?P=tquote))"
    # a whole name (it starts after no name character and is taken whole, never shortened; one
    # word, or two when the second is key, token or secret: "API key"), after a command line's
    # dashes, then a separator and a value, looked ahead of
    r"|(?<![A-Za-z0-9_.-])-{0,2}"
    r"(?=(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,63}(?: (?:key|token|secret)s?(?![A-Za-z0-9_.-]))?))(?P=name)"
    r"(?=(?P<sep>\\{0,3}['\"]?\s*[:=]\s*)(?:(?P<quote>\\{0,3}['\"])(?!(?P=quote))|[^\s'\",&}]{4}))",
    re.I,
)
# An unquoted value: an optional bearer/basic scheme, then characters up to a space, quote, comma,
# ; & or } (a backslash belongs to it unless it escapes a quote or a newline or tab).
_CHAR = r"(?:[^\s'\",;&}\\]|\\+(?![\\'\"nrt]))"
_VALUE = re.compile(rf"(?:(?:bearer|basic)\s+)?{_CHAR}+", re.I)
# An authorization header's value: a scheme word (any: Token, ApiKey, Digest, ...), then its
# credentials: auth-params (``a="x", b=y``) or one token.
_PARAM = r"[A-Za-z0-9_.-]+[ \t]*=[ \t]*(?:\"[^\"]*\"|[^\s,'\"}]*)"
_AUTH_VALUE = re.compile(
    rf"(?:[A-Za-z][A-Za-z0-9_.+-]{{0,31}}[ \t]+(?=[^\s'\",;&}}]))?"
    rf"(?:{_PARAM}(?:[ \t]*,[ \t]*{_PARAM})*|{_CHAR}+)"
)
# A Cookie / Set-Cookie header's value: its ``;``-separated pairs and attributes.
_COOKIE_VALUE = re.compile(rf"{_CHAR}+(?:;[ \t]*{_CHAR}+)*")


@functools.lru_cache(maxsize=_CACHE_MAX)
def _value_of(name: str) -> re.Pattern[str] | None:
    """How the unquoted value of the name ends in free text: an authorization header's scheme and
    credentials, a cookie header's pairs, else one word; None when the name is not secret."""
    if not is_secret_key(name):
        return None
    last = _WORDS.findall(name)[-1].lower()
    if last.endswith(("authorization", "auth")):
        return _AUTH_VALUE
    if last.endswith(("cookie", "cookies")):
        return _COOKIE_VALUE
    return _VALUE


def _closing(text: str, begin: int, quote: str) -> int:
    """Where a value that opened with ``quote`` (a quote after k backslashes: text JSON-escaped
    k-fold) closes, before the closing quote's backslashes; the text's end when it never does."""
    mark, k = quote[-1], len(quote) - 1
    at = text.find(mark, begin)
    while at >= 0:
        run = at
        while run > begin and text[run - 1] == "\\":
            run -= 1
        if (at - run) % (2 * k + 2) == k:  # not a quote escaped inside the value
            return at - k
        at = text.find(mark, at + 1)
    return len(text)


def _scrub_free(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _SCRUB.finditer(text):
        start = m.start()
        if start < pos:  # inside a value already replaced
            continue
        name = m.group("name") or m.group("tname")
        if name is not None:
            value = _value_of(name)
            before = text[start - 1 : start]
            if value is None and before == "\\" and name[0] in "nrtNRT" and len(name) > 1:
                # escaped text: ``\ncookie: ...`` is a newline, then the name
                start, name = start + 1, name[1:]
                value = _value_of(name)
            if value is None:
                if name.lower() != "key" or before not in ("?", "&"):
                    continue
                value = _VALUE  # an API key in a URL's query (``?key=AIza...``)
            quote = m.group("quote") or m.group("tquote")
            begin = m.end() if m.group("tname") else m.end("sep") + len(quote or "")
            if quote:  # a quoted value: up to its closing quote
                end = _closing(text, begin, quote)
            elif text.startswith("-----BEGIN ", begin):
                continue  # a PEM key (`_scrub_pem` took its body)
            else:
                found = value.match(text, begin)
                end = begin if found is None else found.end()
                if end - begin < 4:  # too short for a credential: ordinary text
                    continue
            replacement = text[start:begin] + REDACTED
        elif m.group("bearer"):
            end, replacement = m.end(), m.group("bearer") + REDACTED
        elif m.group("scheme"):
            if m.group("userinfo") in ("@", ":@"):
                continue
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


# A PEM private key's first line (its label is upper case).
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?)-----")


def _scrub_pem(text: str) -> str:
    """PEM private keys: what lies between the BEGIN and END lines (up to the text's end when
    the END line is missing), the two lines kept."""
    out: list[str] = []
    pos = 0
    for m in _PEM.finditer(text):
        if m.start() < pos:
            continue
        out += (text[pos : m.end()], REDACTED)
        pos = text.find(f"-----END {m.group(1)}-----", m.end())
        if pos < 0:
            pos = len(text)
            break
    out.append(text[pos:])
    return "".join(out)


def scrub(text: str) -> str:
    """``text`` with credentials replaced by ``[REDACTED]``: registered values, bearer tokens,
    secret-named ``name=value`` / ``name: value`` pairs (authorization and cookie headers whole),
    OpenAI-style keys, URL user-info, PEM private keys (docs/reliability-secrets.md)."""
    text = scrub_known(text)
    if "PRIVATE KEY-----" in text:
        text = _scrub_pem(text)
    return _scrub_free(text)


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
