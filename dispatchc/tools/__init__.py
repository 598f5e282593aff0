"""Tools over a routing table: explain, show, fmt, serve, lint --resolve
(and diff). Each reads the plan; none recomputes order or names."""
