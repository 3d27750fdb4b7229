"""Reading the metrics an in-memory reader collected."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader


def histogram_points(reader: InMemoryMetricReader, name: str) -> list[HistogramDataPoint]:
    """The histogram data points of metric ``name`` the reader holds now (every scope)."""
    data = reader.get_metrics_data()
    return [
        point
        for rm in (data.resource_metrics if data else ())
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == name
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    ]
