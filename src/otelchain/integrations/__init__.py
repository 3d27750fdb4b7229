"""Bridges to frameworks otelchain does not own (langchain-core, LangGraph).

They are switched on by `otelchain.tracing.instrument()` and need nothing from the app; nothing
here is imported until then, and nothing here imports a framework before the app does.
"""

__all__: list[str] = []
