"""Pollution sources under supervision (issue 13): statistics from the stored data against the
registry's permits (:mod:`.stats`) and their JSON shape for the command line and the API
(:mod:`.shape`)."""
