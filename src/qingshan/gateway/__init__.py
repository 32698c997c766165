"""HJ 212 gateway: asyncio TCP server, group commit, upward forwarding."""
