"""Secrets by name and by value (`otelchain._secrets`): the tables below are the documented
rules (docs/reliability-secrets.md)."""

from __future__ import annotations

import logging

import pytest

from otelchain._json import dumps, encode
from otelchain._secrets import REDACTED, is_secret_key, register_secret, scrub, scrub_known

# (key, secret?) in the spellings apps use: camelCase, PascalCase, snake_case, kebab-case,
# SCREAMING_CASE, dotted, prefixes and suffixes.
NAMES = [
    # tokens
    ("token", True), ("accessToken", True), ("access_token", True), ("sessionToken", True),
    ("session-token", True), ("X-Auth-Token", True), ("refreshToken", True), ("id_token", True),
    ("bearerToken", True), ("csrf_token", True), ("GITHUB_TOKEN", True), ("accesstoken", True),
    # secrets, passwords, passphrases, credentials
    ("secret", True), ("clientSecret", True), ("client_secret", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("password", True), ("db_password", True), ("PASSWORD", True), ("passwd", True), ("pwd", True),
    ("DB_PWD", True),
    ("passphrase", True), ("keyPassphrase", True), ("credential", True), ("credentials", True),
    ("googleCredentials", True),
    # keys
    ("api_key", True), ("apiKey", True), ("APIKey", True), ("x-api-key", True), ("OPENAI_API_KEY", True),
    ("openai_api_key", True), ("apikey", True), ("private_key", True), ("privateKey", True),
    ("PrivateKey", True), ("private-key", True), ("secret_key", True), ("accessKey", True),
    ("signing_key", True), ("encryption_key", True), ("client_key", True), ("AccountKey", True),
    # auth and cookies
    ("auth", True), ("Authorization", True), ("proxy-authorization", True), ("x_auth", True),
    ("basicAuth", True), ("cookie", True), ("Set-Cookie", True), ("sessionCookie", True),
    ("cookies", True), ("headers.authorization", True),
    # close, but not secrets
    ("max_tokens", False), ("maxTokens", False), ("prompt_tokens", False), ("max_token", False),
    ("completion_tokens", False), ("total_tokens", False), ("tokens", False), ("token_count", False),
    ("tokenizer", False), ("author", False), ("authorName", False), ("cache_key", False),
    ("primary_key", False), ("key", False), ("keys", False), ("session_id", False), ("sessionId", False),
    ("user", False), ("thread_id", False), ("monkey", False), ("input", False), ("", False),
]  # fmt: skip


@pytest.mark.parametrize(("key", "secret"), NAMES)
def test_secret_names_in_every_spelling(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(("key", "secret"), NAMES)
def test_the_encoder_redacts_exactly_the_secret_names(key: str, secret: bool) -> None:
    text = encode({key: "the-value-0123", "list": [{key: "the-value-0123"}]})[0]
    assert ("the-value-0123" not in text) is secret
    assert (text.count(REDACTED) == 2) is secret


# Free text (error messages, stack texts): (text, what must be gone, what must stay).
FREE_TEXT = [
    ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678", "Authorization: [REDACTED]"),
    ("accessToken=abc123def456; path=/", "abc123def456", "accessToken=[REDACTED]; path=/"),
    ('{"sessionToken": "s3ss10nvalue"}', "s3ss10nvalue", '"sessionToken": "[REDACTED]"'),
    ("private_key: -----BEGIN-KEY-----", "-----BEGIN-KEY-----", "private_key: [REDACTED]"),
    ("passphrase='open sesame door', next", "sesame", "passphrase='[REDACTED]', next"),
    ("X-Api-Key: k-9876543210", "k-9876543210", "X-Api-Key: [REDACTED]"),
    ("url https://me:pw123456@host/x", "pw123456", "https://[REDACTED]@host/x"),
    ("key sk-abcdefghijklmnop1234", "sk-abcdefghijklmnop1234", "key [REDACTED]"),
    ("max_tokens: 4096, model: gpt-4o", "", "max_tokens: 4096, model: gpt-4o"),
    (
        "Incorrect API key provided: sk-abcdefghijklmnopqrst.",
        "sk-abcdefghijklmnopqrst",
        "provided: [REDACTED].",
    ),
    (
        "url=http://user:pw99999@h token = tok_value_1",
        "pw99999",
        "url=http://[REDACTED]@h token = [REDACTED]",
    ),
]


@pytest.mark.parametrize(("text", "gone", "kept"), FREE_TEXT)
def test_credentials_in_free_text(text: str, gone: str, kept: str) -> None:
    clean = scrub(text)
    assert kept in clean
    if gone:
        assert gone not in clean


# What used to leak from free text, one row per shape: (text, what must be gone, what must stay).
LEAKS = [
    # a secret name after a command line's dashes
    ("exit status 1: ['psql', '--password=S3cretCLI99']", "S3cretCLI99", "'--password=[REDACTED]'"),
    ("run --api-key=cliKey0123456 --model=x", "cliKey0123456", "--api-key=[REDACTED] --model=x"),
    ("tool -token=cliTok0123456 -v", "cliTok0123456", "-token=[REDACTED] -v"),
    # an authorization header's scheme and its credentials
    ("Authorization: Token drfTok987654321abc", "drfTok987654321abc", "Authorization: [REDACTED]"),
    ("Authorization: ApiKey apiKeyValue123 rejected", "apiKeyValue123", "Authorization: [REDACTED] rejected"),
    (
        'Authorization: Digest username="bob", realm="api", nonce="dcd98b7102dd2f0e", '
        'response="6629fae49393a05397450978507c4ef1", opaque="5ccc" was refused',
        "6629fae49393a05397450978507c4ef1",
        "Authorization: [REDACTED] was refused",
    ),
    ("proxy-authorization=Negotiate YIIGhgYGKwYBBQUC end", "YIIGhgYGKwYBBQUC", "=[REDACTED] end"),
    # a quoted value with spaces, up to its closing quote
    ('password="my long passphrase" given', "passphrase", 'password="[REDACTED]" given'),
    ("{'token': 'a b'}", "a b", "{'token': '[REDACTED]'}"),
    # URL user-info: a raw @ or / in the password, a user only
    ("connect postgresql://app:p@ssw0rdAT@db/x failed", "ssw0rdAT", "postgresql://[REDACTED]@db/x failed"),
    ("redis://:pa/ssSLASH99@cache:6379/0", "ssSLASH99", "redis://[REDACTED]@cache:6379/0"),
    (
        "fatal: unable to access 'https://ghp_Tok123456789@github.com/o/r/'",
        "ghp_Tok123456789",
        "'https://[REDACTED]@github.com/o/r/'",
    ),
    # a Cookie header's whole value
    ("Cookie: theme=dark; sessionid=cookieSess98765", "cookieSess98765", "Cookie: [REDACTED]"),
    ("Set-Cookie: sid=setCookie98765; Path=/; HttpOnly", "setCookie98765", "Set-Cookie: [REDACTED]"),
    # escaped JSON
    ('body: "{\\"api_key\\": \\"sk-abc123\\"}"', "sk-abc123", '{\\"api_key\\": \\"[REDACTED]\\"}'),
    ('{\\"error\\": \\"bad\\npassword=escPass123\\"}', "escPass123", 'password=[REDACTED]\\"}'),
    ("x-api-key: escKey123456\\nnext line", "escKey123456", "x-api-key: [REDACTED]\\nnext line"),
    ("GET /x\\nauthorization: Token escTok12345\\n", "escTok12345", "\\nauthorization: [REDACTED]\\n"),
    ("\\ncookie: a=1; sid=escSid12345", "escSid12345", "\\ncookie: [REDACTED]"),
    # a secret name of two words, as providers word it
    ("Invalid API key: gsk_groqKEY1234567890abcd", "gsk_groqKEY1234567890", "Invalid API key: [REDACTED]"),
    ("bad access token: at_9876543210xyz", "at_9876543210xyz", "access token: [REDACTED]"),
    ("secret key: seckey_0123456789", "seckey_0123456789", "secret key: [REDACTED]"),
    # connection strings, query keys, private keys, header tuples
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azK3y+abc/def==;EndpointSuffix=net",
        "azK3y+abc/def==",
        "AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=net",
    ),
    ("GET /geocode?key=AIzaSyA1234567890abcdefgh&x=1", "AIzaSyA1234567890abcdefgh", "?key=[REDACTED]&x=1"),
    ("GET /geocode?x=1&key=AIzaSyA1234567890abcdefgh", "AIzaSyA1234567890abcdefgh", "&key=[REDACTED]"),
    ("Server=db;Uid=app;Pwd=pwdSecret123;", "pwdSecret123", "Uid=app;Pwd=[REDACTED];"),
    (
        "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\nq2w3\n-----END RSA PRIVATE KEY-----\nnext",
        "MIIEpAIBAAKCAQEA1",
        "-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----\nnext",
    ),
    ("private_key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg", "MIIEvQIBADANBg", "private_key: -----BEGIN"),
    ("headers=[(b'x-api-key', b'tupleKey123456')]", "tupleKey123456", "(b'x-api-key', b'[REDACTED]')"),
    ("[('Authorization', 'Bearer tupleTok123456')]", "tupleTok123456", "('Authorization', '[REDACTED]')"),
]


@pytest.mark.parametrize(("text", "gone", "kept"), LEAKS)
def test_credentials_in_every_shape_of_free_text(text: str, gone: str, kept: str) -> None:
    clean = scrub(text)
    assert gone not in clean, clean
    assert kept in clean, clean


# Ordinary text that names no secret, or names one with no value: left as it is.
ORDINARY = [
    "the token count was 12",
    "password reset email sent",
    "key: value",
    "cache key: user-42, max token: 4096",
    "auth failed: bad request",
    "Authorization failed for user bob",
    "The API key is missing: set OPENAI_API_KEY",
    "token limit: 4096 tokens",
    "run --verbose=true -v --model=gpt-4o",
    "see https://example.com/docs?q=a@b.com and https://medium.com/@user/post",
    "GET http://localhost:8080/users/a@b.com: 404",
    "http://[::1]:8080/x?to=a@b",
    "fields: ['password', 'username'] are required",
    "primary_key=42; cache_key=abc",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert scrub(text) == text


def test_a_megabyte_of_hostile_text_scans_in_linear_time() -> None:
    """Fragments that start a credential and never finish it, a megabyte of each and of all
    mixed: quadratic backtracking would not finish within the test timeout."""
    fragments = [
        "password=", "--password", "://a:", "x://a:b/", "x://:1/", "a@", "Authorization: Digest a=\"",
        "Cookie: a=1; ", 'password="', '\\"api_key\\": \\"', "API key ", "(b'api_key', b'",
        "-----BEGIN PRIVATE KEY-----", "-----BEGIN ", "\\\\\"", "token:'", "a-",
    ]  # fmt: skip
    escaped_quotes = 'password="' + '\\"' * 500_000
    for text in [*(f * (1_000_000 // len(f)) for f in fragments), "".join(fragments) * 4_000, escaped_quotes]:
        assert len(scrub(text)) > 0


def test_free_text_scans_in_linear_time() -> None:
    """Names and schemes are bounded, and a name's value is read only when the name is a
    secret's: 200,000 characters of one hyphenated word, of ``a:a:a:...`` or of secret names
    scan in linear time (quadratic backtracking would not finish within the test timeout)."""
    for text in ("a-" * 100_000, "a:" * 100_000, "password:" * 20_000, "h://" * 50_000, "token:'" * 20_000):
        assert len(scrub(text)) > 0


@pytest.mark.parametrize("key", ["gw_live_4f9a8b7c6d5e4f3a2b1c", "0123456789abcdef0123456789abcdef", "k" * 6])
def test_a_registered_value_of_any_format_is_scrubbed_everywhere(key: str) -> None:
    register_secret(key)
    assert scrub_known(f"echo {key} twice {key}") == f"echo {REDACTED} twice {REDACTED}"
    assert scrub(f"Incorrect API key provided: {key}.") == f"Incorrect API key provided: {REDACTED}."
    assert key not in encode({"plain": f"the key is {key}", "list": [key]})[0]
    assert key not in dumps(f"text with {key}") and key not in encode(key, 20)[0]


def test_short_values_are_not_registered() -> None:
    register_secret("abc12")  # would match ordinary text
    assert scrub_known("abc12") == "abc12"


def test_otelchain_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    import otelchain  # noqa: F401  (installs the filters)

    key = "gw_test_logged_0123456789"
    register_secret(key)
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("otelchain.tracing")
    logger.warning("failed: %s", f"server said {key}")
    try:
        raise RuntimeError(f"echoed {key}")
    except RuntimeError:
        logger.exception("with a traceback")
    assert key not in caplog.text
    assert "server said [REDACTED]" in caplog.text and "echoed [REDACTED]" in caplog.text
