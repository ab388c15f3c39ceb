"""Pure rendering of the benchmark results: the figures and the targets as a text table."""

from __future__ import annotations

from services.bench.load_rows import (
    exit_rows,
    knee_rows,
    live_lag_row,
    memory_rows,
    rss_rows,
)
from services.bench.targets import Results, Target, field_at, targets

__all__ = ["Target", "render_table", "targets"]


def _nice(results: Results) -> str:
    nice = field_at(results, "config", "router_nice")
    return f"; router at CPU priority (nice) {nice}" if nice else ""


def _verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "-"}[passed]


def _rows(results: Results) -> list[tuple[str, str]]:
    rows = _sustained_rows(results)
    rows += knee_rows(field_at(results, "knee"))
    rows += _routing_rows(results)
    policy = field_at(results, "policy")
    for one in (policy or {}).get("passes", []):
        rows.append((f"policy pass, {policy['agents']} agents, {one['waiting']} waiting",
                     f"longest_idle {one['longest_idle_us']:,.0f} us; least_occupied, which "
                     f"weighs every candidate, {one['least_occupied_us']:,.0f} us "
                     f"({one['ratio']:.3f}x)"))
    restart = field_at(results, "router_restart")
    if restart:
        rows.append(("router restart on the whole log",
                     f"from offset 0 {restart['replay_s']:.1f} s; from its snapshot "
                     f"({restart['snapshot_bytes'] / 1e6:.1f} MB) {restart['restore_s']:.1f} s "
                     f"({restart['restore_s'] / restart['replay_s']:.2f}x)"
                     + (f"; {restart['log_events']:,} events on the log"
                        if restart.get("log_events") else "")))
    rows += _drain_rows(results)
    r = field_at(results, "rebuild")
    if r:
        rows.append(("rebuild", f"{r['events']:,} events in {r['seconds']:.1f} s "
                                f"({r['events_per_s']:,.0f} ev/s)"))
    rows += memory_rows(field_at(results, "memory"))
    rows += rss_rows(field_at(results, "peak_rss_mb") or {})
    rows += exit_rows(field_at(results, "exits") or [])
    return rows


def _sustained_rows(results: Results) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    s = field_at(results, "sustained")
    if s:
        rows += [("sustained offered / accepted",
                  f"{s['offered']:,} offered at {s['offered_rate']:,.0f}/s for "
                  f"{s['duration_s']:.0f} s; {s['accepted']:,} accepted "
                  f"({s['achieved_rate']:,.0f}/s), {s['http_errors']} HTTP errors")]
        lag = s.get("lag")
        rows.append(("sustained end-to-end lag",
                     "no probe seen" if not lag else
                     f"p50 {lag['p50_ms']:.0f} ms, p99 {lag['p99_ms']:.0f} ms, max "
                     f"{lag['max_ms']:.0f} ms over {lag['count']} probes "
                     f"({s['probes_unseen']} unseen)"))
        for consumer, v in (s.get("backlog") or {}).items():
            if v:
                rows.append((f"sustained {consumer} lag",
                             f"max {v['max_lag']:,}, final {v['final_lag']:,}, troughs' slope "
                             f"{v['trough_slope_per_s']:+.0f} ev/s"))
        rows.append(live_lag_row("sustained live tables lag", s))
    w = field_at(results, "sustained_with_routing")
    if w and w.get("lag"):
        lag = w["lag"]
        rows.append(("sustained + router: end-to-end lag",
                     f"p50 {lag['p50_ms']:.0f} ms, p99 {lag['p99_ms']:.0f} ms (the same load with "
                     "the router and 500 live agents running)"))
        rows.append(live_lag_row("sustained + router: live tables lag", w))
    return rows


def _routing_rows(results: Results) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, label in (("routing_baseline", "routing alone"), ("routing", "routing under load")):
        g = field_at(results, key)
        if not g:
            continue
        lat = g.get("latency")
        rows.append((f"{label}: decisions", f"{g['decisions']:,} in {g['seconds']:.0f} s "
                     f"({g['decisions_per_s']:,.1f}/s) for {g['agents']} agents, "
                     f"{g['desks'].get('started', 0):,} conversations, "
                     f"{g['violation_count']} invariant violations; router caught up with "
                     f"the log in {g.get('catch_up_s', 0):.1f} s" + _nice(results)))
        arrived = g.get("queued_to_decided")
        rows.append((f"{label}: queued -> offered", "n/a" if not arrived else
                     f"p50 {arrived['p50_ms']:.0f} ms, p99 {arrived['p99_ms']:.0f} ms, max "
                     f"{arrived['max_ms']:.0f} ms over {arrived['count']:,} conversations "
                     "routable on arrival"))
        rows.append((f"{label}: routable -> decided", "n/a" if not lat else
                     f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max "
                     f"{lat['max_ms']:.0f} ms over {lat['count']:,} decisions (any trigger, "
                     "incl. timers checked once per tick)"))
    base_p99 = field_at(results, "routing_baseline", "queued_to_decided", "p99_ms")
    load_p99 = field_at(results, "routing", "queued_to_decided", "p99_ms")
    if base_p99 and load_p99:
        rows.append(("routing p99 under load / alone", f"{load_p99 / base_p99:.1f}x"))
    return rows


def _drain_rows(results: Results) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    d = field_at(results, "drain")
    if d:
        rows.append(("drain backlog", f"{d['events']:,} events"))
        rows.append(("drain baseline (aiokafka+orjson)", f"{d['baseline_eps']:,.0f} ev/s"))
        rows += _ceilings(d)
        for consumer in ("worker", "projector"):
            eps = d.get(f"{consumer}_eps")
            processes = d.get("worker_processes", 1) if consumer == "worker" else 1
            rows.append((f"drain {consumer}" + (f" ({processes} processes)" if processes > 1 else ""),
                         "n/a" if eps is None else
                         f"{eps:,.0f} ev/s (ratio {d[f'{consumer}_ratio']:.3f}); from process "
                         f"start {d[f'{consumer}_eps_from_start']:,.0f} ev/s"
                         + _steady(d, consumer)))
    return rows


def _ceilings(d: Results) -> list[tuple[str, str]]:
    """What bounds the worker's and the projector's drain, each with its ratio."""
    processes = d.get("worker_processes", 1)
    out: list[tuple[str, str]] = []
    for key, label, how in (
            ("worker_folds", "drain ceiling: worker's folds alone", "1 process, no I/O"),
            ("projector_folds", "drain ceiling: projector's folds alone", "1 process, no I/O"),
            ("faust_noop", "drain ceiling: Faust, agents doing nothing",
             f"{processes} process{'es' if processes > 1 else ''}")):
        eps = d.get(f"{key}_eps")
        if eps is not None:
            out.append((label, f"{eps:,.0f} ev/s (ratio {d[f'{key}_ratio']:.3f}), {how}"
                        + _steady(d, key)))
    for consumer, ceiling, label in (("worker", "faust_noop", "Faust doing nothing"),
                                     ("projector", "projector_folds", "its folds alone")):
        if d.get(f"{consumer}_eps") and d.get(f"{ceiling}_eps"):
            out.append((f"drain {consumer} / {label}",
                        f"{d[f'{consumer}_eps'] / d[f'{ceiling}_eps']:.2f}x"))
    if d.get("worker_eps_steady") and d.get("faust_noop_eps_steady"):
        out.append(("drain worker / Faust doing nothing, 20-90 %",
                    f"{d['worker_eps_steady'] / d['faust_noop_eps_steady']:.2f}x"))
    return out


def _steady(d: Results, consumer: str) -> str:
    """The drain between 20 % and 90 % of the backlog (the group formed), when measured."""
    steady = d.get(f"{consumer}_eps_steady")
    return "" if steady is None else f"; 20-90 % {steady:,.0f} ev/s"


def render_table(results: Results) -> str:
    """The figures, then the targets with PASS/FAIL, as aligned plain text."""
    rows = _rows(results)
    width = max((len(k) for k, _ in rows), default=10)
    lines = ["figures", "-------"] + [f"{k.ljust(width)}  {v}" for k, v in rows]
    checked = targets(results)
    name_w = max(len(t.name) for t in checked)
    meas_w = max(len(t.measured) for t in checked)
    lines += ["", "targets (issues 2 §8, 3, 11)", "----------------------------"]
    lines += [f"{t.name.ljust(name_w)}  {t.measured.rjust(meas_w)}  {t.goal:<18} "
              f"{_verdict(t.passed)}" for t in checked]
    return "\n".join(lines)
