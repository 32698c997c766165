"""registry: org_unit (责任单位), web_user.unit refers to it, enterprise 一企一档 core fields

Revision ID: 0400_registry
Revises: 0300_deployment_data

``web_user.unit`` was free text; every distinct value in use becomes an ``org_unit`` of kind
``department`` whose code and name are that text (trimmed), so existing unit users keep their
unit and the audit entries that name it keep matching.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_registry"
down_revision = "0300_deployment_data"
branch_labels = None
depends_on = None

_ENTERPRISE_COLUMNS = (
    ("industry_code", sa.String(length=8)),
    ("control_level", sa.String(length=4)),
    ("permit_class", sa.String(length=8)),
    ("longitude", sa.Numeric(precision=10, scale=6)),
    ("latitude", sa.Numeric(precision=10, scale=6)),
    ("address", sa.String(length=300)),
    ("legal_representative", sa.String(length=50)),
    ("env_contact", sa.String(length=50)),
    ("contact_phone", sa.String(length=40)),
)


def upgrade() -> None:
    op.create_table(
        "org_unit",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("parent_code", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "kind IN ('department','township','park','county')", name=op.f("ck_org_unit_kind")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["org_unit.code"], name=op.f("fk_org_unit_parent_code_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_org_unit_region_code_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_org_unit")),
    )
    op.create_index(op.f("ix_org_unit_parent_code"), "org_unit", ["parent_code"])
    op.create_index(op.f("ix_org_unit_region_code"), "org_unit", ["region_code"])

    # the free-text units in use become departments
    conn = op.get_bind()
    web_user = sa.table("web_user", sa.column("id", sa.Integer), sa.column("unit", sa.String))
    org_unit = sa.table(
        "org_unit",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
    )
    rows = conn.execute(sa.select(web_user.c.id, web_user.c.unit)).all()
    units: set[str] = set()
    for uid, unit in rows:
        if unit is None:
            continue
        text = unit.strip()
        if text != unit:
            conn.execute(sa.update(web_user).where(web_user.c.id == uid).values(unit=text))
        units.add(text)
    if units:
        conn.execute(
            sa.insert(org_unit),
            [{"code": u, "name": u, "kind": "department"} for u in sorted(units)],
        )
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_user_unit"), ["unit"])
        batch_op.create_foreign_key(
            batch_op.f("fk_web_user_unit_org_unit"), "org_unit", ["unit"], ["code"]
        )

    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        for name, type_ in _ENTERPRISE_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_check_constraint(
            "control_level",
            "control_level IS NULL OR control_level IN ('国控','省控','市控','区控','县控')",
        )
        batch_op.create_check_constraint(
            "permit_class",
            "permit_class IS NULL OR permit_class IN ('重点管理','简化管理','登记管理')",
        )
        batch_op.create_check_constraint(
            "lon", "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)"
        )
        batch_op.create_check_constraint(
            "lat", "latitude IS NULL OR (latitude >= -90 AND latitude <= 90)"
        )


def downgrade() -> None:
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        for check in ("lat", "lon", "permit_class", "control_level"):
            batch_op.drop_constraint(batch_op.f(f"ck_enterprise_{check}"), type_="check")
        for name, _type in reversed(_ENTERPRISE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_web_user_unit_org_unit"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_web_user_unit"))
    op.drop_index(op.f("ix_org_unit_region_code"), table_name="org_unit")
    op.drop_index(op.f("ix_org_unit_parent_code"), table_name="org_unit")
    op.drop_table("org_unit")
