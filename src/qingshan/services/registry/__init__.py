"""The registry: regions and boundaries, organisational units (责任单位), enterprises
(一企一档), sites of every kind, devices, permits and limits, plan targets.

One module per entity (``regions``, ``units``, ``enterprises``, ``sites``, ``devices``,
``permits``) with validated create / update / list functions that the command line, the
workbook import (``workbook``) and the web call alike; ``rules`` holds the pure field checks
and ``common`` the errors and the one place a change is recorded. The device functions are
re-exported here, where the gateway, the ingest path and the web have always found them.
"""

from __future__ import annotations

from qingshan.services.registry.common import RegistryConflict, RegistryError, RegistryNotFound
from qingshan.services.registry.devices import (
    EDITIONS,
    MN_PATTERN,
    PW_PATTERN,
    SM4_PATTERN,
    ST_PATTERN,
    DeviceExists,
    DeviceInfo,
    DeviceState,
    Directory,
    Registration,
    SitePage,
    UnknownDevice,
    add_device,
    add_upstream,
    device_events,
    device_state,
    device_states,
    enterprise_name,
    find_sites,
    get_device,
    is_online,
    last_packet,
    list_devices,
    register_device,
    reject_preview,
    rejects,
    retire_device,
    seed_factors,
    site_devices,
    update_device,
)

__all__ = [
    "EDITIONS",
    "MN_PATTERN",
    "PW_PATTERN",
    "SM4_PATTERN",
    "ST_PATTERN",
    "DeviceExists",
    "DeviceInfo",
    "DeviceState",
    "Directory",
    "Registration",
    "RegistryConflict",
    "RegistryError",
    "RegistryNotFound",
    "SitePage",
    "UnknownDevice",
    "add_device",
    "add_upstream",
    "device_events",
    "device_state",
    "device_states",
    "enterprise_name",
    "find_sites",
    "get_device",
    "is_online",
    "last_packet",
    "list_devices",
    "register_device",
    "reject_preview",
    "rejects",
    "retire_device",
    "seed_factors",
    "site_devices",
    "update_device",
]
