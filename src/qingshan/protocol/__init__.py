"""Pure protocol packages: bytes in, events out. No storage, network, web or CLI imports here."""
