"""What the tests share, one definition each (conftest.py files hold only fixtures; no test
imports another test module; `tests/test_test_layout.py` checks both).

- `events`: `Recorder`, the one recording handler (every callback event as an `Event`).
- `clock`: `FakeClock`, time moved by hand (timing tests never sleep on a margin).
- `runnables`: small chains (`XYChain`, `Boom`), the seed's chain and agents, the fault suite's `Pipeline`.
- `spans`: `Traced` (a real provider exporting to memory, with a tally of spans never ended),
  span-tree readers (`tree`, `parent_of`, `all_strings`), the context guard, `SpanHandler`.
- `models`: the fake OpenAI key, `call`/`stream` in either mode, `LC` (langchain-openai on loopback).
- `metrics`: `histogram_points`, one metric's histogram points from an in-memory reader.
- `values`: `hot_json_shapes`, the values a traced run encodes most (also benchmarked).
- `installed`: `entry_points_path`, pyproject.toml's entry points as installed metadata (for the
  OpenTelemetry launcher in a subprocess); `declared_entry_points`.
- `scenarios` (import it as a module; it needs langchain-core): one run of every type.
- `export` (import it as a module): `traced_to`, an app's `configure()` + `instrument()` sending OTLP to a
  collector with a copy in memory (what the app sent, to compare with what a backend stored).

Servers (OpenAI-compatible, OTLP receivers, Phoenix/rotel processes, the collector and Jaeger, a GET
server) are in `tests/_servers/`.
"""

from tests.helpers.clock import FakeClock
from tests.helpers.events import Event, Recorder
from tests.helpers.installed import declared_entry_points, entry_points_path
from tests.helpers.metrics import histogram_points
from tests.helpers.models import API_KEY, LC, LC_API_KEY, call, stream
from tests.helpers.runnables import (
    CALC_AGENT_TREE,
    CALC_STEP_1,
    CALC_STEP_2,
    PIPELINE_EVENTS,
    SEED_STEP_1,
    SEED_STEP_2,
    Boom,
    Pipeline,
    XYChain,
    calculator_executor,
    seed_chain,
    seed_executor,
    seed_model,
)
from tests.helpers.spans import (
    SpanContext,
    SpanHandler,
    Tally,
    Traced,
    all_strings,
    context_hygiene,
    make_traced,
    parent_of,
    tree,
)
from tests.helpers.values import hot_json_shapes

__all__ = [
    "hot_json_shapes",
    "API_KEY",
    "CALC_AGENT_TREE",
    "CALC_STEP_1",
    "CALC_STEP_2",
    "LC",
    "LC_API_KEY",
    "PIPELINE_EVENTS",
    "SEED_STEP_1",
    "SEED_STEP_2",
    "Boom",
    "Event",
    "FakeClock",
    "Pipeline",
    "Recorder",
    "SpanContext",
    "SpanHandler",
    "Tally",
    "Traced",
    "XYChain",
    "all_strings",
    "calculator_executor",
    "call",
    "context_hygiene",
    "declared_entry_points",
    "entry_points_path",
    "histogram_points",
    "make_traced",
    "parent_of",
    "seed_chain",
    "seed_executor",
    "seed_model",
    "stream",
    "tree",
]
