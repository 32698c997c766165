"""Permissions in one place: every /api route has an explicit grant (or is on the public
list), and the scope functions give each principal exactly the rows it may see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.routing import Route

from conftest import migrated_sqlite_url
from qingshan.clock import utcnow
from qingshan.roles import PUBLIC, Principal, Role
from qingshan.services import permissions as perm
from qingshan.services.errors import NotFound
from qingshan.settings import get_settings
from qingshan.storage.db import make_engine, session_factory, session_scope
from qingshan.storage.models import Device, Enterprise, Observation, Quarantine, Site
from qingshan.storage.models_web import AuditEntry
from qingshan.storage.partitions import ensure_months, month_of
from qingshan.web import create_app
from qingshan.web.deps import PUBLIC_ROUTES, RoleRequirement

# ---------------------------------------------------------------------------- route walker


def _grants(d: Dependant) -> Iterator[frozenset[Role]]:
    if isinstance(d.call, RoleRequirement):
        yield d.call.roles
    for sub in d.dependencies:
        yield from _grants(sub)


def api_routes(app: FastAPI) -> dict[tuple[str, str], frozenset[Role] | None]:
    """Every (method, path) under /api and the roles its permission dependency admits (None:
    no permission dependency at all). Routes of every included router, overview's too."""
    out: dict[tuple[str, str], frozenset[Role] | None] = {}
    for rc in iter_route_contexts(app.routes):
        path = rc.path or ""
        if not path.startswith("/api"):
            continue
        route = rc.original_route
        assert isinstance(route, Route), f"{path}: a mount under /api escapes the walker"
        roles: frozenset[Role] | None = None
        if isinstance(route, APIRoute):
            found = list(_grants(rc.dependant))
            assert len(found) <= 1, f"{path}: several permission dependencies"
            roles = found[0] if found else None
        for method in (rc.methods or set()) - {"HEAD"}:
            out[(method, path)] = roles
    return out


def unguarded(app: FastAPI) -> list[tuple[str, str]]:
    """Routes with neither a permission dependency nor an entry in PUBLIC_ROUTES."""
    routes = api_routes(app)
    return sorted(k for k, roles in routes.items() if roles is None and k not in PUBLIC_ROUTES)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:

    url = migrated_sqlite_url(tmp_path_factory.mktemp("perm") / "p.db")
    engine = make_engine(url)
    return create_app(get_settings(db_url=url), session_factory(engine))


def test_every_api_route_has_a_permission_or_is_public(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 25
    assert unguarded(app) == []
    # The public list names real routes only, and none of them also demands a role.
    assert set(routes) >= PUBLIC_ROUTES
    assert all(routes[k] is None for k in PUBLIC_ROUTES)
    # overview's routes are walked too
    assert routes[("GET", "/api/v1/cockpit")] == frozenset(perm.DISTRICT)
    assert routes[("GET", "/api/v1/map/sites")] == frozenset(perm.READERS)


REGISTRY_DETAILS = (
    "regions/{code}",
    "regions/{code}/boundary",
    "units/{code:path}",
    "enterprises/{credit_code}",
    "sites/{code:path}",
    "permits/{number:path}",
    "devices/{mn}",
)
REGISTRY_EDITS = (
    "regions/{code}",
    "regions/{code}/boundary",
    "regions/{code}/targets",
    "units/{code:path}",
    "enterprises/{credit_code}",
    "sites/{code:path}",
    "permits/{number:path}",
)


def test_grants_match_the_documented_roles_table(app: FastAPI) -> None:
    routes = api_routes(app)
    readers, admins = frozenset(perm.READERS), frozenset({Role.ADMIN})
    bureau = frozenset({Role.ADMIN, Role.STAFF})
    registry_readers = frozenset({Role.ADMIN, Role.STAFF, Role.LEADER})
    expected = {
        ("GET", "/api/v1/sites"): readers,
        ("GET", "/api/v1/sites/{site_id}"): readers,
        ("GET", "/api/v1/sites/{site_id}/series"): readers,
        ("GET", "/api/v1/sites/{site_id}/completeness"): readers,
        ("GET", "/api/v1/sites/{site_id}/factors"): readers,
        ("GET", "/api/v1/observations/table"): readers,
        ("GET", "/api/v1/observations"): readers,
        ("GET", "/api/v1/export"): readers,
        ("GET", "/api/v1/devices"): readers,
        ("GET", "/api/v1/devices/{mn}"): readers,
        ("GET", "/api/v1/rejects"): readers,
        ("POST", "/api/v1/devices"): admins,
        ("PATCH", "/api/v1/devices/{mn}"): admins,
        ("GET", "/api/v1/users"): admins,
        ("GET", "/api/v1/users/roles"): admins,
        ("POST", "/api/v1/users"): admins,
        ("PATCH", "/api/v1/users/{user_id}"): admins,
        ("POST", "/api/v1/users/{user_id}/reset-password"): admins,
        ("GET", "/api/v1/audit"): frozenset({Role.ADMIN, Role.UNIT}),
        ("GET", "/api/v1/auth/tokens"): readers,
        ("POST", "/api/v1/auth/tokens"): readers,
        ("DELETE", "/api/v1/auth/tokens/{token_id}"): readers,
        ("POST", "/api/v1/auth/logout"): readers,
        # casework foundation: one's own inbox, entity timelines, evidence files
        ("GET", "/api/v1/inbox"): readers,
        ("POST", "/api/v1/inbox/{message_id}/read"): readers,
        ("POST", "/api/v1/inbox/read-all"): readers,
        ("GET", "/api/v1/inbox/contact"): readers,
        ("PUT", "/api/v1/inbox/contact"): readers,
        ("GET", "/api/v1/timeline/{entity_type}/{entity_id}"): frozenset(perm.DISTRICT),
        ("GET", "/api/v1/attachments"): readers,
        ("GET", "/api/v1/attachments/{link_id}"): readers,
        ("GET", "/api/v1/attachments/{link_id}/content"): readers,
        ("GET", "/api/v1/attachments/{link_id}/thumbnail"): readers,
        ("POST", "/api/v1/attachments"): readers - {Role.LEADER},
        ("POST", "/api/v1/auth/password"): readers,
        # the registry's workbook import: the bureau uploads, checks and rejects; writing a
        # checked workbook is the administrators'
        ("GET", "/api/v1/registry/imports"): bureau,
        ("GET", "/api/v1/registry/imports/{import_id}"): bureau,
        ("POST", "/api/v1/registry/imports"): bureau,
        ("POST", "/api/v1/registry/imports/{import_id}/reject"): bureau,
        ("POST", "/api/v1/registry/imports/{import_id}/import"): admins,
        # the registry's lists: the bureau and its leaders (who only read)
        ("GET", "/api/v1/registry/regions"): registry_readers,
        ("GET", "/api/v1/registry/units"): registry_readers,
        ("GET", "/api/v1/registry/enterprises"): registry_readers,
        ("GET", "/api/v1/registry/sites"): registry_readers,
        # one record's detail: every role reaches it, the service answers 404 for records
        # outside the caller's own (tests/registry/test_registry_web_edit.py); edits are the
        # bureau's
        **{("GET", f"/api/v1/registry/{path}"): readers for path in REGISTRY_DETAILS},
        **{("PUT", f"/api/v1/registry/{path}"): bureau for path in REGISTRY_EDITS},
        # pollution sources: every reader within scope; the bureau confirms episodes
        ("GET", "/api/v1/sources/board"): readers,
        ("GET", "/api/v1/sources/stats"): readers,
        ("GET", "/api/v1/sources/enterprises/{credit_code}"): readers,
        ("GET", "/api/v1/sources/alarms"): readers,
        ("GET", "/api/v1/sources/alarms/{episode_id}"): readers,
        ("POST", "/api/v1/sources/alarms/{episode_id}/confirm"): bureau,
        ("GET", "/api/v1/sources/warnings"): readers,
        ("GET", "/api/v1/sources/warnings/{warning_id}"): readers,
        ("GET", "/api/v1/sources/measures"): readers,
        ("GET", "/api/v1/sources/emissions"): readers,
        ("GET", "/api/v1/sources/board/export"): readers,
        ("GET", "/api/v1/sources/map"): readers,
        # 一张图: reference layers and tiles (the tile key's quota) for logged-in users
        ("GET", "/api/v1/map/layers"): readers,
        ("GET", "/api/v1/map/tiles/{z}/{x}/{y}"): readers,
        ("GET", "/api/v1/map/tianditu/{layer}/{z}/{x}/{y}"): readers,
        ("GET", "/api/v1/sources/warnings/{warning_id}/export"): readers,
        # plans: district roles read the status; units report values with evidence, the
        # bureau reviews them
        ("GET", "/api/v1/plans"): frozenset(perm.DISTRICT),
        ("GET", "/api/v1/plans/{plan}/status"): frozenset(perm.DISTRICT),
        ("GET", "/api/v1/plans/{plan}/tasks"): frozenset(perm.DISTRICT),
        ("GET", "/api/v1/plans/{plan}/tasks.ics"): frozenset(perm.DISTRICT),
        ("GET", "/api/v1/plans/{plan}/export.xlsx"): frozenset(perm.DISTRICT),
        ("POST", "/api/v1/plans/{plan}/tasks/{task_no}/complete"): bureau,
        ("GET", "/api/v1/plans/reports"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/{plan}/reports"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/reports/{report_id}/submit"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/reports/{report_id}/review"): bureau,
        ("POST", "/api/v1/plans/{plan}/assigned"): bureau,
        ("POST", "/api/v1/plans/{plan}/assessment/scheme"): bureau,
        ("GET", "/api/v1/plans/{plan}/assessment"): bureau,
        ("GET", "/api/v1/plans/{plan}/assessment.xlsx"): bureau,
        ("GET", "/api/v1/plans/progress"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/{plan}/tasks/{task_no}/progress"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/progress/{report_id}/submit"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/progress/{report_id}/review"): bureau,
        # supervision cases: read within the case scope; grid users report; transitions are
        # decided by the workflow definitions (role + the case's unit); the bureau manages
        ("GET", "/api/v1/cases"): frozenset(perm.CASE_READERS),
        ("GET", "/api/v1/cases/stats"): frozenset(perm.CASE_READERS),
        ("GET", "/api/v1/cases/{code}"): frozenset(perm.CASE_READERS),
        ("GET", "/api/v1/cases/{code}/letters/{kind}"): frozenset(perm.CASE_LETTER_READERS),
        ("GET", "/api/v1/cases/stats/yoy"): frozenset(perm.CASE_READERS),
        ("GET", "/api/v1/cases/settings/alarm-leads"): bureau,
        ("PUT", "/api/v1/cases/settings/alarm-leads"): frozenset({Role.ADMIN}),
        ("PUT", "/api/v1/cases/{code}"): bureau,
        ("POST", "/api/v1/cases/{code}/confirm"): frozenset(perm.SOURCE_CONFIRMERS),
        ("POST", "/api/v1/cases"): frozenset(perm.CASE_OPENERS),
        ("POST", "/api/v1/cases/{code}/actions/{action}"): frozenset(perm.CASE_WORKERS),
        ("POST", "/api/v1/cases/{code}/comments"): frozenset(perm.CASE_WORKERS),
        ("POST", "/api/v1/cases/{code}/extend"): bureau,
        ("POST", "/api/v1/cases/{code}/supervise"): bureau,
        ("POST", "/api/v1/cases/{code}/accountability"): bureau,
        # reports (issue 17): the bureau and its leaders read and download; staff write
        # 问题与建议, leaders record 审核 and 签发
        ("GET", "/api/v1/reports/kinds"): registry_readers,
        ("GET", "/api/v1/reports/issue"): registry_readers,
        ("GET", "/api/v1/reports/download"): registry_readers,
        ("PUT", "/api/v1/reports/issue"): bureau,
        ("POST", "/api/v1/reports/issue/review"): frozenset({Role.LEADER}),
        ("POST", "/api/v1/reports/issue/sign"): frozenset({Role.LEADER}),
    }
    assert {k: routes.get(k) for k in expected} == expected
    # enterprise users read their own enterprise's cases (scoped by the case service), and
    # work none of them
    assert Role.LEADER not in perm.CASE_WORKERS and Role.ENTERPRISE not in perm.CASE_WORKERS
    assert Role.ENTERPRISE in perm.CASE_READERS and Role.ENTERPRISE not in perm.CASE_LETTER_READERS
    assert Role.ENTERPRISE not in perm.DISTRICT and Role.LEADER in perm.DISTRICT
    # Changes to shared data are the administrators'; everyone else changes only their own
    # tokens, session and inbox, and adds evidence files (the service checks the entity).
    own = {
        "/api/v1/auth/tokens",
        "/api/v1/auth/tokens/{token_id}",
        "/api/v1/auth/logout",
        "/api/v1/inbox/{message_id}/read",
        "/api/v1/inbox/read-all",
        "/api/v1/inbox/contact",
        "/api/v1/attachments",
        "/api/v1/auth/password",
    }
    # The bureau's staff upload registry workbooks and reject them (nothing is written to
    # the registry by either); the import itself stays the administrators'.
    bureau_work = {
        ("POST", "/api/v1/registry/imports"),
        ("POST", "/api/v1/registry/imports/{import_id}/reject"),
        *(("PUT", f"/api/v1/registry/{path}") for path in REGISTRY_EDITS),
        ("POST", "/api/v1/sources/alarms/{episode_id}/confirm"),
    }
    # A unit reports its own indicator values (the service scopes them to its unit) and the
    # bureau reviews them; no registry data changes.
    plan_work = {
        ("POST", "/api/v1/plans/{plan}/reports"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/reports/{report_id}/submit"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/reports/{report_id}/review"): bureau,
        ("POST", "/api/v1/plans/{plan}/tasks/{task_no}/complete"): bureau,
        ("POST", "/api/v1/plans/{plan}/assigned"): bureau,
        ("POST", "/api/v1/plans/{plan}/assessment/scheme"): bureau,
        ("POST", "/api/v1/plans/{plan}/tasks/{task_no}/progress"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/progress/{report_id}/submit"): bureau | {Role.UNIT},
        ("POST", "/api/v1/plans/progress/{report_id}/review"): bureau,
    }
    # A report issue's editorial fields: staff write 问题与建议, leaders approve; neither
    # changes any data the reports are made from.
    report_work = {
        ("PUT", "/api/v1/reports/issue"): bureau,
        ("POST", "/api/v1/reports/issue/review"): frozenset({Role.LEADER}),
        ("POST", "/api/v1/reports/issue/sign"): frozenset({Role.LEADER}),
    }
    # Case work is everybody's who works cases (the case service checks role and unit per
    # case and transition, as the workflow definitions say).
    case_work = {k for k in expected if k[1].startswith("/api/v1/cases")}
    for (method, path), roles in routes.items():
        if (method, path) in case_work:
            continue
        if (method, path) in plan_work:
            assert roles == plan_work[(method, path)], (method, path)
        elif (method, path) in report_work:
            assert roles == report_work[(method, path)], (method, path)
        elif (method, path) in bureau_work:
            assert roles == bureau, (method, path)
        elif method != "GET" and (method, path) not in PUBLIC_ROUTES and path not in own:
            assert roles == admins, (method, path)


def test_the_walker_catches_an_unguarded_route(app: FastAPI) -> None:
    from fastapi import APIRouter

    extra = APIRouter()

    @extra.get("/leak")
    def leak() -> dict[str, str]:
        return {}

    app.include_router(extra, prefix="/api/v1")
    try:
        assert unguarded(app) == [("GET", "/api/v1/leak")]
    finally:
        app.router.routes.pop()
    assert unguarded(app) == []


def test_anonymous_callers_are_refused_everywhere_but_the_public_list(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    c = TestClient(app)
    for (method, path), roles in api_routes(app).items():
        if roles is None or "{" in path:
            continue
        r = c.request(method, path)
        assert r.status_code == 401, (method, path, r.status_code)


# ---------------------------------------------------------------------------- scopes

ENT_A, ENT_B = 1, 2


@pytest.fixture
def district(engine: Engine) -> Engine:
    """Two enterprises with outlets, stations, a device without a site, rejects (one of an
    unknown MN), observations and audit entries of two units."""
    now = utcnow()
    ensure_months(engine, {month_of(now)})  # PostgreSQL: the partition of the records
    with session_scope(engine) as s:
        s.add_all([Enterprise(id=ENT_A, name="甲"), Enterprise(id=ENT_B, name="乙")])
        s.flush()
        sites = [
            Site(id=1, code="A1", name="站", kind="air_station"),
            Site(id=2, code="W1", name="断面", kind="surface_water_section"),
            Site(
                id=3,
                code="EA1",
                name="甲排口",
                kind="enterprise_outlet",
                enterprise_id=ENT_A,
                outlet_medium="gas",
            ),
            Site(
                id=4,
                code="EA2",
                name="甲排口2",
                kind="enterprise_outlet",
                enterprise_id=ENT_A,
                outlet_medium="water",
            ),
            Site(
                id=5,
                code="EB1",
                name="乙排口",
                kind="enterprise_outlet",
                enterprise_id=ENT_B,
                outlet_medium="gas",
            ),
        ]
        s.add_all(sites)
        s.flush()
        for i, site in enumerate([*sites, None], 1):
            s.add(
                Device(
                    id=i,
                    mn=f"MN{i}",
                    pw="1",
                    st="22",
                    created_at=now,
                    site_id=site.id if site else None,
                )
            )
        s.flush()
        for i in range(1, 7):
            s.add(Observation(device_id=i, resolution=2, data_time=now, code="a21026", value="1"))
            s.add(Quarantine(received_at=now, mn=f"MN{i}", reason="bad_crc", raw=b"x"))
        s.add(Quarantine(received_at=now, mn="UNKNOWN", reason="unknown_mn", raw=b"x"))
        for unit in ("水务局", "自然资源局", None):
            s.add(AuditEntry(at=now, unit=unit, action="create", entity="x"))
    return engine


def _principal(role: str, enterprise_id: int | None = None, unit: str | None = None) -> Principal:
    return PUBLIC if role == "public" else Principal(Role(role), 1, "u", unit, enterprise_id)


def _oracle_site(p: Principal, kind: str, ent: int | None) -> bool:
    if p.role in ("admin", "staff", "unit", "grid", "leader"):
        return True
    return p.role == "enterprise" and kind == "enterprise_outlet" and ent == p.enterprise_id


def _seen(s: Session, p: Principal) -> dict[str, set[Any]]:
    return {
        "sites": set(s.scalars(select(Site.code).where(perm.site_scope(p)))),
        "devices": set(s.scalars(select(Device.mn).where(perm.device_scope(p)))),
        "enterprises": set(s.scalars(select(Enterprise.id).where(perm.enterprise_scope(p)))),
        "records": set(s.scalars(select(Observation.device_id).where(perm.record_scope(p)))),
        "rejects": set(s.scalars(select(Quarantine.mn).where(perm.reject_scope(p)))),
        "audit": set(s.scalars(select(AuditEntry.unit).where(perm.audit_scope(p)))),
    }


PRINCIPALS = st.builds(
    _principal,
    st.sampled_from([*(r.value for r in Role), "public"]),
    st.sampled_from([None, ENT_A, ENT_B, 99]),
    st.sampled_from([None, "水务局", "自然资源局"]),
)


def test_scopes_match_the_rules_for_any_principal(district: Engine) -> None:
    with Session(district) as s:
        site_rows = {x.code: (x.kind, x.enterprise_id) for x in s.scalars(select(Site))}
        dev_site = {d.mn: d.site_id for d in s.scalars(select(Device))}
        site_code = {x.id: x.code for x in s.scalars(select(Site))}

        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(p=PRINCIPALS)
        def check(p: Principal) -> None:
            seen = _seen(s, p)
            sites = {c for c, (k, e) in site_rows.items() if _oracle_site(p, k, e)}
            district_wide = p.role in perm.DISTRICT
            devices = {
                mn
                for mn, sid in dev_site.items()
                if (district_wide or (sid is not None and site_code[sid] in sites))
            }
            assert seen["sites"] == sites
            assert seen["devices"] == devices
            assert seen["records"] == {int(mn[2:]) for mn in devices}
            assert seen["rejects"] == devices | ({"UNKNOWN"} if district_wide else set())
            assert seen["enterprises"] == (
                {ENT_A, ENT_B}
                if district_wide
                else {p.enterprise_id} & {ENT_A, ENT_B}
                if p.role == "enterprise"
                else set()
            )
            assert seen["audit"] == (
                {"水务局", "自然资源局", None}
                if p.role == "admin"
                else {p.unit}
                if p.role == "unit" and p.unit
                else set()
            )

        check()


def test_enterprise_and_public_views(district: Engine) -> None:
    with Session(district) as s:
        ent = _principal("enterprise", ENT_A)
        assert _seen(s, ent)["sites"] == {"EA1", "EA2"}
        assert _seen(s, PUBLIC) == {k: set() for k in _seen(s, PUBLIC)}
        # A device without a site is an operator's concern, not an enterprise's.
        assert "MN6" in _seen(s, _principal("grid"))["devices"]
        assert "MN6" not in _seen(s, ent)["devices"]


def test_visible_look_ups_answer_not_found_alike(district: Engine) -> None:
    ent = _principal("enterprise", ENT_A)
    with Session(district) as s:
        assert perm.visible_site(s, ent, 3).code == "EA1"
        for missing_or_foreign in (5, 1, 999):
            with pytest.raises(NotFound, match=f"no site {missing_or_foreign}"):
                perm.visible_site(s, ent, missing_or_foreign)
        assert perm.visible_devices(s, ent, site_id=4) == {4: "MN4"}
        assert perm.visible_devices(s, ent, mn="MN3") == {3: "MN3"}
        for mn in ("MN5", "MN6", "NOPE"):
            with pytest.raises(NotFound, match=f"没有MN为 {mn} 的设备"):
                perm.visible_devices(s, ent, mn=mn)
        assert perm.visible_devices(s, _principal("leader"), mn="MN6") == {6: "MN6"}
        with pytest.raises(ValueError, match="exactly one"):
            perm.visible_devices(s, ent)
        with pytest.raises(ValueError, match="exactly one"):
            perm.visible_devices(s, ent, site_id=3, mn="MN3")


def test_every_write_commits_before_its_response_is_sent(app: FastAPI) -> None:
    """A page that re-reads right after a write must see it: every route's write session is
    function-scoped (FastAPI's default, ``request``, commits only after the response)."""
    from fastapi.routing import APIRoute

    from qingshan.web.deps import write_db

    def late(d: Any) -> list[str]:
        here = [d.name or "?"] if d.call is write_db and d.scope != "function" else []
        return here + [n for sub in d.dependencies for n in late(sub)]

    offenders = [r.path for r in app.routes if isinstance(r, APIRoute) and late(r.dependant)]
    assert offenders == []
