"""``/metrics``: Prometheus exposition of one terminal, built fresh at every scrape.

Decision counters and the latency histogram are the scanner's own (:class:`~.events.Totals`,
mirrored by the :class:`~.feed.Feed`): they reset only when the scanner restarts, which
Prometheus's ``rate()`` understands. Gauges come from the live status (camera, printer) and from
the same status sections ``scanpoint status`` shows (lists, clock, last sync, print queue). Only
counts, versions, ages and states: never a row, a name or a code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from terminal.display.events import LATENCY_BUCKETS
from terminal.display.feed import Feed


def _bool(value: Any) -> float:
    return 1.0 if value else 0.0


class TerminalCollector:
    """A ``prometheus_client`` collector over a :class:`Feed` and the status sections as
    ``scanpoint status`` collects them (``sync``, ``printer``: read before the scrape)."""

    def __init__(self, feed: Feed, sections: Mapping[str, Any]) -> None:
        self.feed = feed
        self.sections = sections

    def collect(self) -> Iterator[Metric]:
        yield from self._decisions()
        yield from self._live()
        sync, printer = self.sections.get("sync"), self.sections.get("printer")
        yield from self._lists(sync if isinstance(sync, dict) else {})
        yield from self._printer(printer if isinstance(printer, dict) else {})

    def _decisions(self) -> Iterator[Metric]:
        totals = self.feed.totals
        counter = CounterMetricFamily("scanpoint_decisions", "Decisions taken by the scanner since "
                                      "it started, by decision, reason code and credential format",
                                      labels=["decision", "reason", "format"])
        for (decision, reason, fmt), count in sorted(totals.counts.items()):
            counter.add_metric([decision, reason, fmt], count)
        yield counter
        histogram = HistogramMetricFamily("scanpoint_decision_latency_seconds",
                                          "Frame arrival to LED change, per decision")
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), totals.buckets, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(cumulative)))
        histogram.add_metric([], buckets, sum_value=totals.latency_sum)
        yield histogram

    def _live(self) -> Iterator[Metric]:
        feed = self.feed
        fresh = feed.fresh()
        yield GaugeMetricFamily("scanpoint_scanner_up", "1 while the scanner publishes status to "
                                "this display", value=_bool(fresh))
        yield GaugeMetricFamily("scanpoint_camera_up", "1 while the scanner's camera delivers "
                                "frames", value=_bool(fresh and feed.camera_state() == "ok"))
        printer = feed.printer or {}
        if printer.get("known"):
            yield GaugeMetricFamily("scanpoint_printer_up", "1 while the slip printer is online "
                                    "with paper (its last answer)",
                                    value=_bool(printer.get("online") and printer.get("paper")))
            yield GaugeMetricFamily("scanpoint_printer_paper", "1 unless the slip printer reported "
                                    "paper out", value=_bool(printer.get("paper")))
        publisher = (feed.status or {}).get("decisions")
        if isinstance(publisher, int):
            yield GaugeMetricFamily("scanpoint_scanner_decisions", "Decisions in the scanner's "
                                    "status (a cross-check of the counters)", value=publisher)

    def _lists(self, sync: Mapping[str, Any]) -> Iterator[Metric]:
        version = GaugeMetricFamily("scanpoint_list_version", "Version of the held signed list",
                                    labels=["list"])
        age = GaugeMetricFamily("scanpoint_list_age_seconds", "Seconds since the held list was "
                                "issued", labels=["list"])
        stale = GaugeMetricFamily("scanpoint_list_stale", "1 when the held list is past its "
                                  "valid-until (decisions become check LIST_STALE)", labels=["list"])
        valid = GaugeMetricFamily("scanpoint_list_valid_until_timestamp_seconds", "Unix time the "
                                  "held list stops being valid", labels=["list"])
        lists = sync.get("lists")
        for kind, meta in sorted(lists.items() if isinstance(lists, dict) else ()):
            if not isinstance(meta, dict):
                continue
            version.add_metric([kind], float(meta.get("version") or 0))
            age.add_metric([kind], float(meta.get("age_s") or 0))
            stale.add_metric([kind], _bool(meta.get("stale")))
            valid.add_metric([kind], float(meta.get("valid_until") or 0))
        yield from (version, age, stale, valid)
        clock = sync.get("clock")
        trusted = clock.get("trusted") if isinstance(clock, dict) else None
        yield GaugeMetricFamily("scanpoint_clock_trusted", "1 when the terminal's clock is "
                                "trusted (0: decisions become check CLOCK_UNTRUSTED)",
                                value=_bool(trusted))
        success = sync.get("last_success")
        if isinstance(success, (int, float)):
            yield GaugeMetricFamily("scanpoint_last_sync_success_timestamp_seconds",
                                    "Unix time of the last list sync that succeeded", value=success)

    def _printer(self, printer: Mapping[str, Any]) -> Iterator[Metric]:
        if not printer.get("enabled"):
            return
        yield GaugeMetricFamily("scanpoint_print_queue_depth", "Slips waiting for the printer",
                                value=float(printer.get("pending") or 0))
        yield GaugeMetricFamily("scanpoint_print_failed", "Slips given up after unanswered sends",
                                value=float(printer.get("failed") or 0))


def exposition(feed: Feed, sections: Mapping[str, Any]) -> bytes:
    """The text exposition of this terminal's metrics alone (no process or platform collectors).

    Call it in the feed's event loop: the feed's counters change only there.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TerminalCollector(feed, sections))
    return generate_latest(registry)
