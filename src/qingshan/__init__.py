"""Qingshan (青山): an open-source platform for local ecological-environment protection.

Layout (pure rules in the middle, adapters at the edge):

- ``qingshan.protocol``  -- HJ 212 as a sans-I/O library (bytes in, events out).
- ``qingshan.standards`` -- national standards as pure functions over numbers and tables.
- ``qingshan.storage``   -- SQLAlchemy models, migrations, time-series storage.
- ``qingshan.services``  -- compose rules with storage (ingest, roll-ups, figures).
- ``qingshan.gateway``   -- asyncio TCP server speaking HJ 212.
- ``qingshan.cli``       -- the ``qingshan`` command line.
"""

__version__ = "0.1.0"
