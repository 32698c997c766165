"""Moved to :mod:`qingshan.simulator.loadgen` (the simulator is a client, not the gateway).

Kept as an alias so existing imports (``bench/bench_gateway.py``) keep working.
"""

from qingshan.simulator.loadgen import LoadResult, minute_packets, raise_fd_limit, run_load

__all__ = ["LoadResult", "minute_packets", "raise_fd_limit", "run_load"]
