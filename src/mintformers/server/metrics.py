"""Prometheus metrics of one server (its own registry, so several apps in one process never collide).

    mintformers_requests_total{route, status}          requests answered
    mintformers_request_errors_total{status}           of which errors (status >= 400)
    mintformers_request_duration_seconds{route}        time to the last byte of the answer (streams included)
    mintformers_requests_in_flight                     requests being served now
    mintformers_queue_rows                             rows waiting for a forward pass
    mintformers_queued_rows_total                      rows queued (texts, pairs, chunks, completions)
    mintformers_batch_rows / mintformers_batch_tokens  rows and padded tokens per forward pass
    mintformers_forward_passes_total                   forward passes (generation: one per wave)
    mintformers_dropped_rows_total                     queued rows dropped because their client left
    mintformers_generated_tokens_total                 tokens generated
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_TOKEN_BUCKETS = (16, 64, 256, 1024, 4096, 16384, 65536)


class Metrics:
    def __init__(self, queued: Callable[[], float] | None = None):
        """`queued()`: the batcher's queue length, read at scrape time."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("mintformers_requests", "Requests answered", ["route", "status"], registry=r)
        self.errors = Counter("mintformers_request_errors", "Requests answered with an error status", ["status"], registry=r)
        self.latency = Histogram(
            "mintformers_request_duration_seconds", "Time from request to the last byte of the answer", ["route"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.in_flight = Gauge("mintformers_requests_in_flight", "Requests being served", registry=r)
        self.queue = Gauge("mintformers_queue_rows", "Rows waiting for a forward pass", registry=r)
        self.rows_queued = Counter("mintformers_queued_rows", "Rows queued for a forward pass", registry=r)
        self.batch_rows = Histogram("mintformers_batch_rows", "Rows per forward pass", buckets=_ROW_BUCKETS, registry=r)
        self.batch_tokens = Histogram(
            "mintformers_batch_tokens", "Padded tokens per forward pass", buckets=_TOKEN_BUCKETS, registry=r
        )
        self.passes = Counter("mintformers_forward_passes", "Forward passes (generation: one per wave)", registry=r)
        self.dropped = Counter("mintformers_dropped_rows", "Queued rows dropped because their client left", registry=r)
        self.generated = Counter("mintformers_generated_tokens", "Tokens generated", registry=r)
        if queued is not None:
            self.queue.set_function(queued)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, str(status)).inc()
        if status >= 400:
            self.errors.labels(str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_batch(self, rows: int, padded_tokens: int) -> None:  # called from the worker thread
        self.passes.inc()
        self.batch_rows.observe(rows)
        self.batch_tokens.observe(padded_tokens)

    def observe_drop(self, rows: int) -> None:
        self.dropped.inc(rows)

    def render(self) -> bytes:
        return generate_latest(self.registry)
