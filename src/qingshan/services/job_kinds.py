"""Every kind of job the scheduler runs, in one table: what ``qingshan serve``'s scheduler
thread and ``qingshan jobs run`` (cron) both hand to :func:`qingshan.services.scheduler.run_due`.

A capability that schedules its own kind of job (a plan task's reminder, a case's deadline
warning) adds its handler here, so that both runners know every kind.
"""

from __future__ import annotations

from qingshan.services import scheduler, workflows
from qingshan.services.cases import escalation
from qingshan.services.plans import tasks as plan_tasks

JOB_HANDLERS: dict[str, scheduler.Handler] = {
    **workflows.JOB_HANDLERS,  # notices, deliveries, workflow reminders
    plan_tasks.JOB_KIND: plan_tasks.notice_job,  # a plan task due or overdue
    escalation.JOB_KIND: escalation.warning_job,  # a case's 蓝/黄/红 deadline warning
}

__all__ = ["JOB_HANDLERS"]
