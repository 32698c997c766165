"""A database that refuses observations of one factor code: a real refusal by the database
(a trigger raising, as a CHECK constraint or a value PostgreSQL cannot take would), on SQLite
and PostgreSQL alike. Used by the tests of packets the database refuses (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

REFUSED_CODE = "zz0001"
MESSAGE = "zz0001 refused by a trigger"


@contextmanager
def refusing(engine: Engine) -> Iterator[Engine]:
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_zz BEFORE INSERT ON observation "
                    f"WHEN NEW.code = '{REFUSED_CODE}' BEGIN "
                    f"SELECT RAISE(ABORT, '{MESSAGE}'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_zz() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.code = '{REFUSED_CODE}' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_zz BEFORE INSERT ON observation "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_zz()"
                )
            )
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            if sqlite:
                conn.execute(text("DROP TRIGGER refuse_zz"))
            else:
                conn.execute(text("DROP TRIGGER refuse_zz ON observation"))
                conn.execute(text("DROP FUNCTION refuse_zz()"))
