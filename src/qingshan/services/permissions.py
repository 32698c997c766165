"""Who may do what, and which rows each principal may see: the one place for both.

* Grants: which roles may use an operation. The web routes pass these to ``require(...)``;
  ``tests/web/test_permissions.py`` walks the app and checks every ``/api`` route has one.
* Scopes: SQL conditions that every query of sites, devices, enterprises, rejects, records
  and the audit log adds, so an enterprise user sees only its own outlets, a unit user only
  its own unit's audit entries, and the anonymous public nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from qingshan.roles import Principal, Role
from qingshan.services.errors import NotFound
from qingshan.storage.models import Device, Enterprise, Observation, Quarantine, Site
from qingshan.storage.models_casework import AttachmentLink
from qingshan.storage.models_web import AuditEntry

# ---------------------------------------------------------------------------- grants

# Monitoring data, sites, devices, the reject log, the map, one's own API tokens; enterprise
# users within their scope.
READERS: tuple[Role, ...] = tuple(Role)
# District-wide figures (the cockpit, station AQI on the map): everyone but enterprise users.
DISTRICT: tuple[Role, ...] = tuple(r for r in Role if r is not Role.ENTERPRISE)
DEVICE_ADMINS: tuple[Role, ...] = (Role.ADMIN,)  # register and edit devices
USER_ADMINS: tuple[Role, ...] = (Role.ADMIN,)  # accounts
AUDIT_READERS: tuple[Role, ...] = (Role.ADMIN, Role.UNIT)  # unit users: their own unit only
# Casework foundation: one's own inbox (everyone); entity timelines (district roles);
# evidence files: read within attachment_scope, uploaded by everyone who works on cases
# (not the read-only leaders).
INBOX_USERS: tuple[Role, ...] = tuple(Role)
TIMELINE_READERS: tuple[Role, ...] = DISTRICT
ATTACHMENT_READERS: tuple[Role, ...] = tuple(Role)
ATTACHMENT_UPLOADERS: tuple[Role, ...] = tuple(r for r in Role if r is not Role.LEADER)
# The registry's workbook import: the bureau uploads, checks and rejects; writing a checked
# workbook into the registry is the administrators' (as the registry_import workflow says).
REGISTRY_EDITORS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
REGISTRY_IMPORTERS: tuple[Role, ...] = (Role.ADMIN,)
# The HJ 212 gateway's refusal counters (who was blocked, throttled, cut off): /healthz.
GATEWAY_OPERATORS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
# Pollution sources: the statistics, 一企一档 and episodes for every reader within scope (an
# enterprise user: its own enterprise); confirming an alarm or hint episode is the bureau's.
SOURCE_READERS: tuple[Role, ...] = READERS
SOURCE_CONFIRMERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
# Plans (规划指标): the bureau loads plans, records task completion and enters the values of
# 完成上级下达目标 targets; every district role reads their status.
PLAN_EDITORS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
PLAN_READERS: tuple[Role, ...] = DISTRICT
# Reported indicator values: units report (their own unit's), the bureau reviews.
PLAN_REPORTERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.UNIT)
PLAN_REVIEWERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
# Supervision cases (issue 14): read within services.cases.core.case_scope (unit users their
# own units' cases, grid users patrols and their reports, leaders all); grid users report
# (open patrol and complaint cases, as the workflow definitions say); transitions are decided
# by the definitions (role + the case's unit); the bureau edits, extends, supervises and
# records accountability. Enterprise users read their own enterprise's cases (the case's
# enterprise is theirs), nothing else of casework: no letters, no timeline, no steps.
CASE_READERS: tuple[Role, ...] = (
    Role.ADMIN,
    Role.STAFF,
    Role.UNIT,
    Role.GRID,
    Role.LEADER,
    Role.ENTERPRISE,
)
CASE_LETTER_READERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.UNIT, Role.GRID, Role.LEADER)
CASE_WORKERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.UNIT, Role.GRID)
CASE_OPENERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.GRID)
CASE_MANAGERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
# The rule naming the unit that leads automatic-alarm cases is a deployment setting: admins.
ALARM_LEAD_SETTERS: tuple[Role, ...] = (Role.ADMIN,)
# Registry detail pages: the bureau and its leaders read every record (leaders only read);
# other roles reach the detail routes but see only their own records (registry_visible).
REGISTRY_READERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.LEADER)
# Environmental-quality reports (月报, 年报 …; issue 17): the bureau and its leaders read and
# download them (drafts with their 问题与建议 are internal: not units, grid or enterprises);
# the bureau's staff write 问题与建议; the leaders record 审核 and 签发 — approving a
# bulletin is a leader's act, and it changes no data (leaders stay read-only elsewhere).
REPORT_READERS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF, Role.LEADER)
REPORT_EDITORS: tuple[Role, ...] = (Role.ADMIN, Role.STAFF)
REPORT_APPROVERS: tuple[Role, ...] = (Role.LEADER,)


def sees_district(p: Principal) -> bool:
    """Whether the principal reads the whole district (every site, district figures)."""
    return p.role in DISTRICT


def registry_visible(
    p: Principal,
    entity_type: str,
    *,
    unit_code: str | None = None,
    enterprise_id: int | None = None,
) -> bool:
    """Whether the principal may open one registry record's detail: the bureau and leaders
    every record; a unit or grid user its own unit (``unit_code``); an enterprise user the
    records of its own enterprise (``enterprise_id``: the enterprise, its outlets, permits and
    their devices). Anything else is answered as absent, never as forbidden."""
    if p.role in REGISTRY_READERS:
        return True
    if entity_type == "org_unit":
        return p.role in (Role.UNIT, Role.GRID) and p.unit is not None and p.unit == unit_code
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return enterprise_id == p.enterprise_id
    return False


# ---------------------------------------------------------------------------- scopes


def site_scope(p: Principal) -> ColumnElement[bool]:
    """Sites the principal may see: all, or an enterprise user's own outlets."""
    if sees_district(p):
        return true()
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return and_(Site.kind == "enterprise_outlet", Site.enterprise_id == p.enterprise_id)
    return false()


def device_scope(p: Principal) -> ColumnElement[bool]:
    """Devices the principal may see: all (also those not yet at a site), or the devices at
    an enterprise user's own outlets."""
    if sees_district(p):
        return true()
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return Device.site_id.in_(select(Site.id).where(site_scope(p)))
    return false()


def enterprise_scope(p: Principal) -> ColumnElement[bool]:
    """Enterprises the principal may see: all, or an enterprise user's own."""
    if sees_district(p):
        return true()
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return Enterprise.id == p.enterprise_id
    return false()


def record_scope(p: Principal) -> ColumnElement[bool]:
    """Observation records the principal may read: those of its visible devices."""
    if sees_district(p):
        return true()
    return Observation.device_id.in_(select(Device.id).where(device_scope(p)))


def reject_scope(p: Principal) -> ColumnElement[bool]:
    """Rejected input (quarantine): all, including unknown MNs; enterprise users only the
    rejects of their own devices."""
    if sees_district(p):
        return true()
    return Quarantine.mn.in_(select(Device.mn).where(device_scope(p)))


def audit_scope(p: Principal) -> ColumnElement[bool]:
    """Audit entries: administrators all, unit users their own unit's, nobody else any."""
    if p.role == Role.ADMIN:
        return true()
    if p.role == Role.UNIT and p.unit is not None:
        return AuditEntry.unit == p.unit
    return false()


def attachment_scope(p: Principal) -> ColumnElement[bool]:
    """Attachment links: district roles all; enterprise users those they uploaded for their
    own enterprise; nobody else any."""
    if sees_district(p):
        return true()
    if p.role == Role.ENTERPRISE and p.enterprise_id is not None:
        return AttachmentLink.enterprise_id == p.enterprise_id
    return false()


# ---------------------------------------------------------------------------- look-ups


def visible_site(s: Session, p: Principal, site_id: int) -> Site:
    """The site, if the principal may see it; otherwise :class:`NotFound`."""
    site = s.scalar(select(Site).where(Site.id == site_id, site_scope(p)))
    if site is None:  # the same answer for "absent" and "not yours": no probing
        raise NotFound(f"no site {site_id}")
    return site


def visible_devices(
    s: Session, p: Principal, *, site_id: int | None = None, mn: str | None = None
) -> dict[int, str]:
    """Device id → MN of one site's devices or of one device (by MN), within scope.

    Exactly one of ``site_id`` and ``mn``. A site out of scope or an MN the principal may not
    see is :class:`NotFound`; a visible site without devices gives an empty mapping.
    """
    if (site_id is None) == (mn is None):
        raise ValueError("give exactly one of site_id and mn")
    q = select(Device.id, Device.mn).where(device_scope(p))
    if site_id is not None:
        visible_site(s, p, site_id)
        q = q.where(Device.site_id == site_id)
    else:
        q = q.where(Device.mn == mn)
    devices = {d: m for d, m in s.execute(q)}
    if mn is not None and not devices:
        raise NotFound(f"没有MN为 {mn} 的设备")
    return devices
