"""Pure rendering of the figures of issue 11's phases: the live tables' lag, the knee's
steps, the workers' memory and every process's peak RSS (rows of the text table)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = tuple[str, str]


def _lag(lag: Mapping[str, Any] | None) -> str:
    if not lag:
        return "no probe seen"
    return f"p50 {lag['p50_ms']:.0f} ms, p99 {lag['p99_ms']:.0f} ms, max {lag['max_ms']:.0f} ms"


def live_lag_row(label: str, run: Mapping[str, Any]) -> Row:
    """Accepted -> visible on the worker's conversations changelog, for one sustained run."""
    live = run.get("live_lag")
    return (label, _lag(live) + ("" if not live else
                                 f" over {live['count']} probes ({run['live_probes_unseen']} "
                                 "unseen); ingest 202 -> state on the worker's changelog"))


def knee_rows(knee: Mapping[str, Any] | None) -> list[Row]:
    """One row per step of the ramp, then the knee."""
    if not knee:
        return []
    rows: list[Row] = []
    for step in knee["steps"]:
        backlog = step.get("backlog") or {}
        slopes = ", ".join(f"{c} {v['trough_slope_per_s']:+,.0f}/s" for c, v in backlog.items() if v)
        rows.append((f"knee step {step['offered_rate']:,.0f} ev/s",
                     ("held" if step["held"] else "NOT held (" + "; ".join(step["reasons"]) + ")")
                     + f": accepted {step['achieved_rate']:,.0f}/s; end-to-end {_lag(step['lag'])}"
                     f"; live tables p99 "
                     + (f"{step['live_lag']['p99_ms']:.0f} ms" if step.get("live_lag") else "n/a")
                     + f"; backlog slope {slopes}"
                     + (f"; began after {step['waited_for_catch_up_s']:.0f} s of catch-up"
                        if step.get("waited_for_catch_up_s", 0) >= 1 else "")))
    held = knee["knee_rate"]
    rows.append(("knee: highest rate held",
                 ("none of the steps" if held is None else f"{held:,.0f} events/s")
                 + f" for {knee['hold_s']:.0f} s with end-to-end p99 <= {knee['max_p99_ms']:.0f} ms"
                 " and no growing backlog (worker, projector, router with 500 live agents)"))
    return rows


def _mb(values: Mapping[str, float]) -> str:
    return " + ".join(f"{mb:,.0f}" for mb in values.values()) + " MB"


def memory_rows(memory: Mapping[str, Any] | None) -> list[Row]:
    """The workers' RSS idle, while conversations close and age out, and per open one."""
    if not memory:
        return []
    aging, opened = memory["aging"], memory["open"]
    per_10k = opened["per_10k_open_mb"]
    rows = [("memory: workers idle",
             f"{_mb(memory['idle_mb'])} ({memory['workers']} processes on topics of their own; "
             f"closed horizon {memory['horizon_s']:.0f} s, swept every "
             f"{memory['sweep_every_s']:.0f} s)")]
    t = aging.get("trend_mb")
    rows.append(("memory: conversations closing and aging out",
                 f"{aging['events']:,} events of {aging['conversations']:,} conversations at "
                 f"{aging['rate']:,.0f}/s for {aging['seconds']:.0f} s (all committed "
                 f"{aging.get('catch_up_s', 0):.1f} s after), {aging['swept']:,} swept"
                 + ("" if not t else
                    f"; workers' RSS over the last {t['seconds']:.0f} s {t['start']:,.0f} -> "
                    f"{t['end']:,.0f} MB, slope {t['slope_per_min']:+,.1f} MB/min")
                 + f" (keeping them would take about {aging['conversations'] * per_10k / 1e4:,.0f}"
                 " MB)"))
    first, last = opened["points"][0], opened["points"][-1]
    rows.append(("memory: RSS per 10,000 open conversations",
                 f"{per_10k:,.1f} MB (slope over {len(opened['points']) - 1} steps, "
                 f"{first['open']:,} -> {last['open']:,} open, with the "
                 f"{opened['agents']:,} agents holding them, as in the corpus); "
                 f"workers' RSS {sum(first['rss_mb'].values()):,.0f} -> "
                 f"{sum(last['rss_mb'].values()):,.0f} MB"))
    return rows


def rss_rows(peaks: Mapping[str, float]) -> list[Row]:
    """Peak RSS of every process the run started (and of itself)."""
    return [(f"peak RSS {name}", f"{mb:,.0f} MB") for name, mb in peaks.items()]


def exit_rows(exits: list[Mapping[str, Any]]) -> list[Row]:
    """Each supervised process that exited (and was restarted), with its last log line."""
    return [(f"exited: {e['name']}", f"with {e['code']} during {e['phase']} at {e['at_s']:.0f} s, "
             "restarted; last line: " + (e["last_lines"][-1] if e["last_lines"] else "-"))
            for e in exits]
