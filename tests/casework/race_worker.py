"""Run the scheduler in a separate process for the race tests: wait for a common start time,
run every due job (each handler slowed a little so both processes are busy at once), print
the ids this process did as JSON."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from sqlalchemy.orm import Session

from qingshan.services import scheduler, workflows
from qingshan.storage.db import make_engine


def main() -> None:
    url, start_at = sys.argv[1], float(sys.argv[2])
    engine = make_engine(url)
    slow = dict(workflows.JOB_HANDLERS)
    notify = slow["notify"]

    def slowed(s: Session, ctx: scheduler.JobContext, payload: dict[str, Any]) -> Any:
        time.sleep(0.05)  # jobs long enough that both workers overlap
        return notify(s, ctx, payload)

    slow["notify"] = slowed
    ctx = scheduler.JobContext(scheduler.worker_id())
    time.sleep(max(0.0, start_at - time.time()))
    summary = scheduler.run_due(engine, ctx, slow, max_jobs=1000)
    print(json.dumps({"ids": summary.ids, "done": summary.done, "lost": summary.lost}))
    engine.dispose()


if __name__ == "__main__":
    main()
