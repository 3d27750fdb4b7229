"""Secrets by value and by name (issue 21): the key a model was configured with, whatever its
format, never reaches a span, an event, a status, a log record or a console line, also when the
server echoes it in a 401; values under secret-looking names are redacted in every spelling."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.callbacks import CallbackManagerForChainRun, ConsoleCallbackHandler
from otelchain.chat_models import ChatOpenAI
from otelchain.tracing import ConsoleSpanTreeExporter, instrument, uninstrument
from tests._servers.openai_server import OpenAIServer, Reply
from tests.helpers import Traced, XYChain, all_strings, make_traced

# Keys that do not look like OpenAI's ``sk-...`` (before the fix only those were scrubbed).
KEYS = {
    "gateway": "gw_live_4f9a8b7c6d5e4f3a2b1c0d9e",
    "32 hex": "0123456789abcdef0123456789abcdef",
}


@pytest.fixture
def instrumented() -> Iterator[Traced]:
    traced = make_traced()
    instrument(traced.provider)
    tree = io.StringIO()
    traced.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(tree)))
    traced.extra.append(tree)
    try:
        yield traced
    finally:
        uninstrument()
        traced.provider.shutdown()


def _leaks(secret: str, traced: Traced, caplog: pytest.LogCaptureFixture, *outputs: str) -> list[str]:
    """Where ``secret`` shows: exported spans (every attribute, event, status), log records,
    console lines."""
    logs = "\n".join(r.getMessage() + str(r.exc_text or "") for r in caplog.records)
    places = {
        "spans": all_strings(traced.spans) + "".join(s.to_json() for s in traced.spans),
        "log records": logs + caplog.text,
        **{f"console {i}": text for i, text in enumerate(outputs)},
    }
    return [where for where, text in places.items() if secret in text]


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("model", ["langchain-openai", "otelchain"])
def test_a_configured_key_of_any_format_echoed_in_a_401_never_leaves(
    instrumented: Traced,
    openai_server: OpenAIServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    model: str,
) -> None:
    """Before the fix the langchain-openai key, echoed by the server, was in the span status,
    ``exception.message`` and ``exception.stacktrace``."""
    caplog.set_level(logging.DEBUG)
    key = KEYS[kind]
    openai_server.add(Reply(status=401, error_message=f"Incorrect API key provided: {key}. Check it."))
    verbose = io.StringIO()
    console = ConsoleCallbackHandler(verbose)
    if model == "langchain-openai":
        from langchain_openai import ChatOpenAI as LCChatOpenAI

        chat: Any = LCChatOpenAI(api_key=key, base_url=openai_server.base_url, max_retries=0, model="m")  # type: ignore[arg-type]
        with pytest.raises(openai.AuthenticationError) as raised:
            chat.invoke("hi", config={"callbacks": [console]})
        assert key in str(raised.value)  # the app's own exception is untouched: the check is not vacuous
    else:
        chat = ChatOpenAI(api_key=key, base_url=openai_server.base_url, max_retries=0, model="m")
        with pytest.raises(openai.AuthenticationError):
            chat.call("hi", callbacks=[console])
    assert openai_server.requests[-1].headers["authorization"] == f"Bearer {key}"  # really sent
    (span,) = instrumented.spans
    # the echo reached the span (scrubbed, or masked by otelchain's own client): not vacuous
    assert "Incorrect API key provided" in str(span.status.description)
    assert "Incorrect API key provided" in str(span.events[0].attributes["exception.stacktrace"])  # type: ignore[index]
    captured = capsys.readouterr()
    tree = instrumented.extra[0].getvalue()
    assert "Incorrect API key provided" in tree + verbose.getvalue()  # the consoles printed the error
    leaks = _leaks(key, instrumented, caplog, verbose.getvalue(), tree, captured.out, captured.err)
    assert leaks == []


class Echo(XYChain):
    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        return {"y": inputs["x"]}


# (argument name, its value): every one must be redacted wherever the arguments are recorded.
SECRET_ARGUMENTS = [
    ("accessToken", "value-of-accessToken-0001"),
    ("sessionToken", "value-of-sessionToken-0002"),
    ("private_key", "value-of-private_key-0003"),
    ("passphrase", "value-of-passphrase-0004"),
    ("clientSecret", "value-of-clientSecret-0005"),
    ("X-Auth-Token", "value-of-X-Auth-Token-0006"),
    ("refresh-token", "value-of-refresh-token-0007"),
    ("PrivateKey", "value-of-PrivateKey-0008"),
    ("db_password", "value-of-db_password-0009"),
    ("apiKey", "value-of-apiKey-0010"),
    ("set-cookie", "value-of-set-cookie-0011"),
    ("credentials", "value-of-credentials-0012"),
    ("auth", "value-of-auth-0013"),
    ("id_token", "value-of-id_token-0014"),
]
# Names that look close but hold no secret: recorded as they are.
PLAIN_ARGUMENTS = [
    ("max_tokens", "value-of-max_tokens"),
    ("author", "value-of-author"),
    ("cache_key", "value-of-cache_key"),
    ("session_id", "value-of-session_id"),
    ("tokenizer", "value-of-tokenizer"),
]


@pytest.mark.parametrize("framework", ["otelchain", "langchain-core"])
def test_secret_named_arguments_are_redacted_in_every_spelling(
    instrumented: Traced, caplog: pytest.LogCaptureFixture, framework: str
) -> None:
    """Before the fix ``accessToken``, ``sessionToken``, ``private_key`` and ``passphrase`` (and
    more) were recorded in clear; ``token``, ``clientSecret`` and ``Authorization`` were not."""
    caplog.set_level(logging.DEBUG)
    arguments = dict(SECRET_ARGUMENTS + PLAIN_ARGUMENTS)
    verbose = io.StringIO()
    console = ConsoleCallbackHandler(verbose)
    if framework == "otelchain":
        Echo().call({"x": {"nested": [arguments]}}, [console])
    else:
        RunnableLambda(lambda x: x).invoke({"nested": [arguments]}, config={"callbacks": [console]})
    tree = instrumented.extra[0].getvalue()
    for name, value in SECRET_ARGUMENTS:
        assert _leaks(value, instrumented, caplog, verbose.getvalue(), tree) == [], name
    everything = all_strings(instrumented.spans) + verbose.getvalue()
    for name, value in PLAIN_ARGUMENTS:
        assert value in everything, name
