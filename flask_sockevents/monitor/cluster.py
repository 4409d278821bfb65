"""The monitor's view of the cluster: every process's counters, summed and broken down.

Each process publishes its counters with its heartbeat (see
:mod:`flask_sockevents.cluster`), so another process's figures are at most one
``cluster_heartbeat`` old; the watching process's own are fresh. Without a
message queue the cluster is the one process.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["cluster_snapshot"]

logger = logging.getLogger("flask_sockevents.monitor")

_SUMMED = ("clients", "events_per_second", "received", "rejected", "failed")


def cluster_snapshot(sockevents: Any, exclude_namespace: str | None = None) -> dict[str, Any]:
    """Clients, events per second and rejections of every live process, and their sums.

    :param sockevents: the extension whose cluster is shown.
    :param exclude_namespace: a namespace whose clients are not counted (the
        monitor's own).
    :return: ``{"processes": [per-process rows], "totals": {...}}`` (a row:
        ``process``, ``pid``, ``self``, ``clients``, ``clients_by_namespace``,
        ``events_per_second``, ``received``, ``rejected``, ``failed`` and the
        cluster messages it ``dropped`` by reason), or
        ``{"processes": [], "totals": {}, "error": text}`` when the cluster
        cannot be read (Redis down).
    """
    cluster = getattr(sockevents, "cluster", None)
    if cluster is None:
        return {"processes": [], "totals": {}}
    try:
        processes = cluster.processes()
    except Exception as exc:
        logger.warning("the monitor cannot read the cluster: %s", exc)
        return {"processes": [], "totals": {}, "error": f"{type(exc).__name__}: {exc}"}
    rows = []
    for process_id, stats in processes.items():
        clients = {
            namespace: count
            for namespace, count in (stats.get("clients") or {}).items()
            if namespace != exclude_namespace and isinstance(count, int)
        }
        rows.append(
            {
                "process": process_id,
                "pid": stats.get("pid"),
                "self": process_id == cluster.process_id,
                "clients": sum(clients.values()),
                "clients_by_namespace": clients,
                "events_per_second": _number(stats.get("events_per_second")),
                "received": _number(stats.get("received")),
                "rejected": _number(stats.get("rejected")),
                "failed": _number(stats.get("failed")),
                "dropped": _counts(stats.get("dropped")),
            }
        )
    rows.sort(key=lambda row: (not row["self"], row["process"]))
    totals = {key: round(sum(row[key] for row in rows), 2) for key in _SUMMED}
    totals["processes"] = len(rows)
    return {"processes": rows, "totals": totals}


def _counts(value: Any) -> dict[str, int]:
    """Dropped cluster messages by reason (see :mod:`flask_sockevents.clusterlink`)."""
    if not isinstance(value, dict):
        return {}
    return {str(key): count for key, count in value.items() if isinstance(count, int)}


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
