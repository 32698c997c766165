"""National standards as pure rules: no database, no network, no web.

Each rule set has an id (``HJ633-2012``, ``GB3838-2002`` …) and an effective date range
(:mod:`qingshan.standards.versions`); the numbers live in data files under ``data/`` with
their sources cited.
"""
