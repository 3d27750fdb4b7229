"""Export LangChain's agent run to an OpenTelemetry Collector (or any OTLP backend) over OTLP.

Honours the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL
(http/protobuf, the default, or grpc), OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME.

    docker compose up -d --wait                      # collector + Jaeger (docker-compose.yml)
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/otlp_export.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
        python examples/otlp_export.py
    # then open http://localhost:16686 and search for the printed trace id

Without an endpoint it prints the span tree to the console instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from otelchain.tracing import configure, instrument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_callbacks import run  # LangChain's agent example, beside this file


def main() -> None:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        print("OTEL_EXPORTER_OTLP_ENDPOINT is not set: printing spans to the console", file=sys.stderr)
    service = os.environ.get("OTEL_SERVICE_NAME") or "otelchain-otlp-example"
    provider = configure(service_name=service)  # exporter, endpoint, protocol, headers from env
    instrument(provider)

    result = run()
    info = result.run_info
    assert info is not None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    print(f"exported to {endpoint or 'console'} ({protocol if endpoint else 'tree'}) as service {service}")
    print(f"trace_id={info.trace_id}")
    # Spans leave in the background; configure() flushes them at exit within a bounded time.


if __name__ == "__main__":
    main()
