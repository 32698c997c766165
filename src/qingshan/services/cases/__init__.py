"""Supervision cases as a closed loop (issue 14): 督察整改 items, 信访 / 12369 complaints and
patrol findings — model and workflow (:mod:`.core`), statistics (:mod:`.stats`), ledgers in and
out (:mod:`.ledger`), deadlines, warnings and accountability (:mod:`.escalation`)."""
