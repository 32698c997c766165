"""One registry record as its detail page shows it: the record's fields (JSON-ready), the
records hanging off it (a region's sub-regions and targets, an enterprise's outlets and
permits, a site's devices, a permit's limits and annual amounts), its timeline and its
attachments — within what the principal may see.

Visibility is :func:`qingshan.services.permissions.registry_visible`: a record the principal
may not see is :class:`RegistryNotFound`, the same answer as a record that does not exist,
so nobody can probe the registry's contents. Registry records take evidence files through the
attachments service; only the bureau's editors may attach them, and only to records that
exist (the check registered here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from qingshan.roles import Principal
from qingshan.services import attachments
from qingshan.services.permissions import (
    REGISTRY_EDITORS,
    TIMELINE_READERS,
    registry_visible,
)
from qingshan.services.registry.common import RegistryNotFound, snapshot
from qingshan.services.registry.enterprises import ENTERPRISE_FIELDS, by_credit_code
from qingshan.services.registry.permits import PERMIT_FIELDS, permit_by_number
from qingshan.services.registry.regions import REGION_FIELDS, TARGET_FIELDS
from qingshan.services.registry.rules import LEVEL_LABELS
from qingshan.services.registry.sites import KIND_LABELS, SITE_FIELDS
from qingshan.services.registry.units import UNIT_FIELDS, UNIT_KIND_LABELS
from qingshan.storage.models import Device, DeviceGroup, Enterprise, Region, Site
from qingshan.storage.models_casework import Attachment, AttachmentLink, TimelineEvent
from qingshan.storage.models_registry import (
    Deployment,
    IndicatorTarget,
    OrgUnit,
    Permit,
    PermitAnnualAmount,
    PermitLimit,
    RegionBoundary,
)

# The registry entity types with a detail page (timeline entity type = these names).
ENTITY_TYPES = ("region", "org_unit", "enterprise", "site", "permit", "device")
DEVICE_FIELDS = ("mn", "st", "edition", "encoding", "active", "minute_interval", "report_interval")


@dataclass
class Detail:
    """A record, its related lists, its history and its files."""

    entity_type: str
    key: str
    record: dict[str, Any]
    related: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    timeline: list[TimelineEvent] | None = None  # None: the principal's role reads none
    attachments: list[tuple[AttachmentLink, Attachment]] = field(default_factory=list)


def _absent(entity_type: str, key: str) -> RegistryNotFound:
    return RegistryNotFound(f"没有登记 {entity_type} {key}，或无权查看")


# The entity types whose events a record's page shows beside its own: a region's outline and
# targets, a permit's limit and annual-amount tables are recorded as entities of their own.
PART_TYPES = {
    "region": ("region_boundary",),
    "permit": ("permit_limits", "permit_annual_amounts"),
}
TIMELINE_LIMIT = 1000


def _events(s: Session, d: Detail) -> list[TimelineEvent]:
    """The record's events and those of its parts, oldest first (the latest 1000)."""
    same = TimelineEvent.entity_id == d.key
    cond = and_(
        TimelineEvent.entity_type.in_((d.entity_type, *PART_TYPES.get(d.entity_type, ()))), same
    )
    if d.entity_type == "region":  # targets are keyed region/indicator/first year
        prefix = d.key + "/"
        cond = or_(
            cond,
            and_(
                TimelineEvent.entity_type == "indicator_target",
                func.substr(TimelineEvent.entity_id, 1, len(prefix)) == prefix,
            ),
        )
    rows = s.scalars(
        select(TimelineEvent).where(cond).order_by(TimelineEvent.id.desc()).limit(TIMELINE_LIMIT)
    )
    return list(reversed(list(rows)))


def _finish(s: Session, p: Principal, d: Detail) -> Detail:
    if p.role in TIMELINE_READERS:
        d.timeline = _events(s, d)
    d.attachments = attachments.of_entity(s, p, d.entity_type, d.key)
    return d


def _site_row(site: Site, credit: str | None) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "kind": site.kind,
        "kind_label": KIND_LABELS.get(site.kind, site.kind),
        "control_level": site.control_level,
        "enterprise": credit,
    }


def region_detail(s: Session, p: Principal, code: str) -> Detail:
    row = s.get(Region, code)
    if row is None or not registry_visible(p, "region"):
        raise _absent("region", code)
    record = snapshot(row, REGION_FIELDS)
    record["level_label"] = LEVEL_LABELS.get(row.level, row.level)
    outline = s.get(RegionBoundary, code)
    record["has_boundary"] = outline is not None
    record["boundary_source"] = outline.source if outline else None
    record["boundary_updated_at"] = outline.updated_at.isoformat() if outline else None
    own = s.scalar(select(Deployment.region_code))
    record["own"] = own == code
    children = s.scalars(select(Region).where(Region.parent_code == code).order_by(Region.code))
    targets = s.scalars(
        select(IndicatorTarget)
        .where(IndicatorTarget.region_code == code)
        .order_by(IndicatorTarget.indicator, IndicatorTarget.year_from)
    )
    return _finish(
        s,
        p,
        Detail(
            "region",
            code,
            record,
            {
                "children": [snapshot(c, REGION_FIELDS) for c in children],
                "targets": [
                    {
                        "indicator": t.indicator,
                        "year_from": t.year_from,
                        **snapshot(t, TARGET_FIELDS),
                    }
                    for t in targets
                ],
            },
        ),
    )


def region_outline(s: Session, p: Principal, code: str) -> str:
    """The region's outline as GeoJSON geometry text (for download and the page's preview)."""
    row = s.get(RegionBoundary, code)
    if row is None or not registry_visible(p, "region"):
        raise _absent("region_boundary", code)
    return row.geometry


def unit_detail(s: Session, p: Principal, code: str) -> Detail:
    row = s.get(OrgUnit, code)
    if row is None or not registry_visible(p, "org_unit", unit_code=row.code):
        raise _absent("org_unit", code)
    record = snapshot(row, UNIT_FIELDS)
    record["kind_label"] = UNIT_KIND_LABELS.get(row.kind, row.kind)
    children = s.scalars(select(OrgUnit).where(OrgUnit.parent_code == code).order_by(OrgUnit.code))
    return _finish(
        s,
        p,
        Detail(
            "org_unit",
            code,
            record,
            {"children": [snapshot(c, ("code", "name", "kind")) for c in children]},
        ),
    )


def enterprise_detail(s: Session, p: Principal, credit_code: str) -> Detail:
    row = by_credit_code(s, credit_code)
    if row is None or not registry_visible(p, "enterprise", enterprise_id=row.id):
        raise _absent("enterprise", credit_code)
    key = row.credit_code or credit_code
    outlets = s.scalars(select(Site).where(Site.enterprise_id == row.id).order_by(Site.code))
    permits = s.scalars(
        select(Permit).where(Permit.enterprise_id == row.id).order_by(Permit.number)
    )
    return _finish(
        s,
        p,
        Detail(
            "enterprise",
            key,
            snapshot(row, ENTERPRISE_FIELDS),
            {
                "outlets": [
                    {**_site_row(o, key), "outlet_medium": o.outlet_medium} for o in outlets
                ],
                "permits": [snapshot(x, PERMIT_FIELDS) for x in permits],
            },
        ),
    )


def site_detail(s: Session, p: Principal, code: str) -> Detail:
    row = s.scalar(select(Site).where(Site.code == code))
    if row is None or not registry_visible(p, "site", enterprise_id=row.enterprise_id):
        raise _absent("site", code)
    record = snapshot(row, SITE_FIELDS)
    del record["enterprise_id"]
    ent = s.get(Enterprise, row.enterprise_id) if row.enterprise_id is not None else None
    record["enterprise"] = ent.credit_code if ent else None
    record["enterprise_name"] = ent.name if ent else None
    record["kind_label"] = KIND_LABELS.get(row.kind, row.kind)
    devices = s.scalars(select(Device).where(Device.site_id == row.id).order_by(Device.mn))
    return _finish(
        s,
        p,
        Detail(
            "site",
            code,
            record,
            {"devices": [snapshot(d, DEVICE_FIELDS) for d in devices]},
        ),
    )


def permit_detail(s: Session, p: Principal, number: str) -> Detail:
    row = permit_by_number(s, number)
    ent = s.get(Enterprise, row.enterprise_id) if row is not None else None
    if row is None or ent is None or not registry_visible(p, "permit", enterprise_id=ent.id):
        raise _absent("permit", number)
    record = snapshot(row, PERMIT_FIELDS)
    record["enterprise"] = ent.credit_code
    record["enterprise_name"] = ent.name
    limits = s.execute(
        select(PermitLimit, Site.code)
        .join(Site, Site.id == PermitLimit.site_id)
        .where(PermitLimit.permit_id == row.id)
        .order_by(Site.code, PermitLimit.pollutant, PermitLimit.basis)
    )
    amounts = s.scalars(
        select(PermitAnnualAmount)
        .where(PermitAnnualAmount.permit_id == row.id)
        .order_by(PermitAnnualAmount.pollutant, PermitAnnualAmount.year)
    )
    return _finish(
        s,
        p,
        Detail(
            "permit",
            row.number,
            record,
            {
                "limits": [
                    {
                        "outlet": code,
                        "pollutant": lim.pollutant,
                        "limit": lim.limit_value,
                        "lower": lim.lower_value,
                        "unit": lim.unit,
                        "basis": lim.basis,
                        "o2_ref": lim.o2_ref,
                        "standard": lim.standard,
                        "source_table": lim.source_table,
                    }
                    for lim, code in limits
                ],
                "amounts": [
                    {"pollutant": a.pollutant, "year": a.year, "amount": a.amount, "unit": a.unit}
                    for a in amounts
                ],
            },
        ),
    )


def device_detail(s: Session, p: Principal, mn: str) -> Detail:
    """A device's registry record: never its access password or SM4 key, only whether the
    key is set."""
    row = s.scalar(select(Device).where(Device.mn == mn))
    site = s.get(Site, row.site_id) if row is not None and row.site_id is not None else None
    owner = site.enterprise_id if site is not None else None
    if row is None or not registry_visible(p, "device", enterprise_id=owner):
        raise _absent("device", mn)
    record = snapshot(row, DEVICE_FIELDS)
    record["site"] = site.code if site else None
    record["site_name"] = site.name if site else None
    group = s.get(DeviceGroup, row.group_id) if row.group_id is not None else None
    record["group"] = group.name if group else None
    record["sm4_key_set"] = row.sm4_key is not None
    return _finish(s, p, Detail("device", mn, record))


DETAILS = {
    "region": region_detail,
    "org_unit": unit_detail,
    "enterprise": enterprise_detail,
    "site": site_detail,
    "permit": permit_detail,
    "device": device_detail,
}


# ---------------------------------------------------------------------------- evidence


def _exists(s: Session, entity_type: str, key: str) -> bool:
    lookups: dict[str, Any] = {
        "region": select(func.count()).select_from(Region).where(Region.code == key),
        "org_unit": select(func.count()).select_from(OrgUnit).where(OrgUnit.code == key),
        "enterprise": select(func.count())
        .select_from(Enterprise)
        .where(Enterprise.credit_code == key),
        "site": select(func.count()).select_from(Site).where(Site.code == key),
        "permit": select(func.count()).select_from(Permit).where(Permit.number == key),
        "device": select(func.count()).select_from(Device).where(Device.mn == key),
    }
    return bool(s.scalar(lookups[entity_type]))


def _may_attach(entity_type: str) -> attachments.AttachCheck:
    def check(s: Session, p: Principal, key: str) -> bool:
        return p.role in REGISTRY_EDITORS and _exists(s, entity_type, key)

    return check


for _type in ENTITY_TYPES:
    attachments.register_attach_check(_type, _may_attach(_type))
