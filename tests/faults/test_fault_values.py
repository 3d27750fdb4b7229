"""Values are bounded and valid before they reach the SDK, errors always get their status and
event, credentials never reach an exported byte, a log record or a console line (issue 11,
breaks 5, 6, 7 and 9), and a value whose own code hangs never hangs a traced call (issue 21).
Spans go through the real OTLP/HTTP exporter to a loopback collector."""

from __future__ import annotations

import io
import json
import logging
import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.callbacks import CallbackManagerForChainRun, ConsoleCallbackHandler
from otelchain.chat_models import ChatOpenAI
from otelchain.llms import FakeListLLM
from otelchain.tools import Tool
from otelchain.tracing import ConsoleSpanTreeExporter, OpenTelemetryCallbackHandler, configure
from tests._servers.openai_server import OpenAIServer, Reply
from tests._servers.otlp_collector import OtlpCollector
from tests.helpers import Pipeline, Traced, XYChain

LIMIT = 16_384


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector("ok") as c:
        yield c


def exported_provider(collector: OtlpCollector) -> TracerProvider:
    return configure(
        exporter="otlp",
        endpoint=collector.endpoint,
        protocol="http/protobuf",
        set_global=False,
        max_queue_size=8192,
    )


def strings_of(span: Any) -> Iterator[tuple[str, str]]:
    """Every string value of a received protobuf span: attributes, event attributes, status."""
    yield "status", span.status.message
    for kv in span.attributes:
        yield from _values(kv.key, kv.value)
    for event in span.events:
        for kv in event.attributes:
            yield from _values(f"{event.name}.{kv.key}", kv.value)


def _values(key: str, value: Any) -> Iterator[tuple[str, str]]:
    if value.HasField("string_value"):
        yield key, value.string_value
    elif value.HasField("array_value"):
        for v in value.array_value.values:
            yield from _values(key, v)


class Fails(XYChain):
    """A chain whose body raises the given error."""

    def __init__(self, error: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        raise self.error


def test_huge_values_are_bounded_and_no_batch_is_lost(collector: OtlpCollector) -> None:
    """Before the fix: a 5 MB tool error made a request the collector refused, losing the batch,
    and exception texts, ids and token text went out unbounded."""
    provider = exported_provider(collector)
    handler = OpenTelemetryCallbackHandler(provider, conventions="all")
    huge = "e" * 5_000_000
    for i in range(100):
        Pipeline().call({"x": i}, [handler])
    tool = Tool("explode", "Raises a huge error.", func=lambda s: (_ for _ in ()).throw(RuntimeError(huge)))
    with pytest.raises(RuntimeError):
        tool.run("x", callbacks=[handler])
    ids = {"session_id": "s" * 1_000_000, "user_id": "u" * 1_000_000, "conversation_id": "c" * 1_000_000}
    FakeListLLM([["t" * 1_000_000, "x"]], streaming=True).call("q", callbacks=[handler], metadata=ids)
    for i in range(100):
        Pipeline().call({"x": i}, [handler])
    provider.shutdown()
    assert collector.refused == 0
    assert len(collector.spans) == 200 * 3 + 2
    for span in collector.spans:
        for key, text in strings_of(span):
            assert len(text) <= LIMIT, (span.name, key, len(text))
        assert sum(len(t) for _, t in strings_of(span)) <= handler.max_span_length + 64 * 32
    llm = next(s for s in collector.spans if s.name.startswith("text_completion") and not s.parent_span_id)
    attrs = dict(strings_of(llm))
    assert attrs["session.id"].startswith("sss") and attrs["user.id"].startswith("uuu")
    assert attrs["gen_ai.conversation.id"].startswith("ccc")
    assert any(k == "new_token.token.text" and t.startswith("ttt") for k, t in strings_of(llm))


def test_lone_surrogates_never_sink_a_batch(collector: OtlpCollector) -> None:
    """Before the fix: one lone surrogate made the exporter fail to encode the whole batch."""
    from otelchain.tracing import health, reset_health

    reset_health()
    provider = exported_provider(collector)
    handler = OpenTelemetryCallbackHandler(provider)
    for i in range(100):
        Pipeline().call({"x": i}, [handler])
    Pipeline().call({"x": "bad \ud83d input"}, [handler])
    with pytest.raises(ValueError):
        Fails(ValueError("bad \udc00 message")).call({"x": "q"}, [handler])
    FakeListLLM([["\ud83d", "ok"]], streaming=True).call("q", callbacks=[handler], tags=["\udfff"])
    for i in range(100):
        Pipeline().call({"x": i}, [handler])
    provider.shutdown()
    assert len(collector.spans) == 201 * 3 + 2
    texts = [t for s in collector.spans for _, t in strings_of(s)]
    assert any("\ufffd" in t for t in texts)
    assert health().values_sanitized >= 3 and health().spans_export_failed == 0


def test_an_exception_whose_str_raises_still_fails_the_span(app: Traced) -> None:
    """Before the fix: no ERROR status, no error.type, no exception event."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    with pytest.raises(Unprintable):
        Fails(Unprintable()).call({"x": "q"}, [app.handler])
    (span,) = app.spans
    assert span.status.status_code.name == "ERROR"
    assert (span.attributes or {})["error.type"].endswith("Unprintable")
    (event,) = [e for e in span.events if e.name == "exception"]
    assert str((event.attributes or {})["exception.type"]).endswith("Unprintable")
    assert "unprintable" in str((event.attributes or {})["exception.message"])
    app.assert_clean()


class CountingMapping(Mapping[str, int]):
    """A 200,000-key mapping that counts how many values were read."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reads = 0

    def __getitem__(self, key: str) -> int:
        self.reads += 1
        return int(key[1:])

    def __iter__(self) -> Iterator[str]:
        return (f"k{i}" for i in range(self.n))

    def __len__(self) -> int:
        return self.n


def test_large_inputs_are_cut_while_encoding(app: Traced) -> None:
    """Before the fix a 200,000-key input was fully encoded before truncation (0.8 s a call)."""
    big = CountingMapping(200_000)
    run_id = uuid4()
    app.handler.on_chain_start({"name": "big"}, big, run_id=run_id)  # type: ignore[arg-type]
    app.handler.on_chain_end({"y": 1}, run_id=run_id)
    (span,) = app.spans
    value = str((span.attributes or {})["input.value"])
    assert len(value) <= LIMIT and json.loads(value)["k0"] == 0  # fewer items, still JSON
    assert big.reads <= 6 * LIMIT // 8  # each item takes at least 8 characters of JSON: a few walks
    app.assert_clean()


API_KEY = "sk-test-" + "K" * 40
BEARER = "tok-" + "B" * 36


def test_secret_scan_of_every_exported_byte_log_record_and_console_line(
    collector: OtlpCollector, openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Before the fix: a bearer token echoed in a 401 message reached the span status,
    exception.message, exception.stacktrace, retry events and the console."""
    caplog.set_level(logging.DEBUG)
    console_out, tree_out = io.StringIO(), io.StringIO()
    provider = exported_provider(collector)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(tree_out)))
    handler = OpenTelemetryCallbackHandler(provider)
    model = ChatOpenAI(
        api_key=API_KEY,
        base_url=openai_server.base_url,
        max_retries=1,
        default_headers={"Authorization": f"Bearer {BEARER}"},
    )
    echo = f"Invalid header Authorization: Bearer {BEARER} for key {API_KEY}; url https://me:{BEARER}@x"
    openai_server.add(Reply(status=500, error_message=echo, headers={"retry-after-ms": "1"}))
    openai_server.add(Reply(status=401, error_message=echo))
    console = ConsoleCallbackHandler(console_out)
    with pytest.raises(Exception) as raised:
        model.call("hi", callbacks=[handler, console])
    assert BEARER in str(raised.value)  # the app's own exception is untouched
    provider.shutdown()
    exported = b"".join(collector.bodies)
    assert collector.spans and b"Authorization: [REDACTED]" in exported  # the echo went out, scrubbed
    logs = "\n".join(r.getMessage() + str(r.exc_text or "") for r in caplog.records)
    for where, text in (
        ("exported bytes", exported.decode("utf-8", "replace")),
        ("log records", logs),
        ("verbose console", console_out.getvalue()),
        ("span tree", tree_out.getvalue()),
    ):
        assert BEARER not in text, where
        assert API_KEY not in text, where
    span = collector.spans[0]
    assert span.status.message.startswith("AuthenticationError") and "[REDACTED]" in span.status.message


class Blocks:
    """A value whose own code blocks: its ``__repr__`` and ``__str__`` say so, then wait for a
    release that never comes unless the call under test ran them."""

    __slots__ = ("_entered", "_release")

    def __init__(self, entered: queue.Queue[str], release: threading.Event) -> None:
        self._entered = entered
        self._release = release

    def _block(self, what: str) -> str:
        self._entered.put(what)
        self._release.wait()
        return what

    def __repr__(self) -> str:
        return self._block("__repr__")

    def __str__(self) -> str:
        return self._block("__str__")


class Proxy(Blocks):
    """Blocks too in any attribute it does not have (``__getattr__``), as a remote proxy would."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return self._block(f"__getattr__({name})")


class BlocksWithAttributes(Proxy):
    """The same, with public attributes of its own (recorded as they are stored)."""

    __slots__ = ("answer",)

    def __init__(self, entered: queue.Queue[str], release: threading.Event) -> None:
        super().__init__(entered, release)
        self.answer = 42


class BlockingError(Exception):
    def __init__(self, blocks: Blocks) -> None:
        super().__init__(blocks)
        self.blocks = blocks

    def __str__(self) -> str:
        return str(self.blocks)


@pytest.mark.parametrize("framework", ["otelchain", "langchain-core"])
def test_a_value_whose_repr_hangs_does_not_hang_the_traced_call(app: Traced, framework: str) -> None:
    """Before the fix the encoder called the value's ``__repr__``: the traced call hung there
    (an untraced call returns at once). The call runs in a worker; whichever comes first, the
    call's return or the value's code being entered, is the answer (no timing involved)."""
    from langchain_core.runnables import RunnableLambda

    outcome: queue.Queue[str] = queue.Queue()
    release = threading.Event()
    value = {
        "plain": Blocks(outcome, release),
        "proxy": Proxy(outcome, release),
        "with attributes": BlocksWithAttributes(outcome, release),
        "as a key": {Blocks(outcome, release): 1},
        "in an error": BlockingError(Blocks(outcome, release)),
    }
    console = ConsoleCallbackHandler(io.StringIO())

    class Echo(XYChain):
        def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
            return {"y": inputs["x"]}

    def call() -> None:
        if framework == "otelchain":
            Echo().call({"x": value}, [app.handler, console])
        else:
            RunnableLambda(lambda v: v).invoke(value, config={"callbacks": [app.handler]})
        outcome.put("returned")

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    first = outcome.get()
    release.set()  # (only needed when the value's code was entered)
    worker.join()
    assert first == "returned", f"the traced call ran the value's {first}"
    app.assert_clean()
    text = str(app.spans[0].attributes["input.value"])  # type: ignore[index]
    assert '"plain": "<Blocks>", "proxy": "<Proxy>"' in text
    assert '"with attributes": {"type": "BlocksWithAttributes", "answer": 42}' in text
    assert '"in an error": "BlockingError(\'\')"' in text
