"""Moved to :mod:`qingshan.simulator.client` (the simulator is a client, not the gateway).

Kept as an alias so existing imports (tests, ``bench/bench_gateway.py``) keep working.
"""

from qingshan.simulator.client import Ack, DeviceClient, data_packet, make_qn

__all__ = ["Ack", "DeviceClient", "data_packet", "make_qn"]
