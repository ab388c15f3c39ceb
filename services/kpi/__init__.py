"""KPIs outside the worker: the offline report (`switchboard kpi`)."""
