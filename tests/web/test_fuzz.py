"""OpenAPI-driven fuzzing (schemathesis): no request, however odd, makes the API answer 5xx.

Driven by hypothesis directly over each operation's strategy (schemathesis' pytest plugin
does not run under pytest 9 yet); ``max_examples`` bounds the run.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conftest import migrated_sqlite_url
from web.conftest import _seeded, login


@pytest.fixture(scope="module")
def web_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    """Fuzzing runs once, on SQLite (the API tests cover both backends)."""
    url = migrated_sqlite_url(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    return url, _seeded(url)


# Revoking tokens and editing users could lock the fuzzing account out midway; both are
# covered by the API tests.
SKIP = {("DELETE", "/api/v1/auth/tokens/{token_id}"), ("PATCH", "/api/v1/users/{user_id}")}
EXAMPLES = 8


def test_no_server_errors(app: Any) -> None:
    token = (
        login(app, "admin")
        .post("/api/v1/auth/tokens", json={"name": "fuzz", "scope": "write"})
        .json()["token"]
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue
        ran += 1

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            for headers in ({"Authorization": f"Bearer {token}"}, {}):
                r = case.call(headers=headers)
                if r.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {r.status_code}: {r.text[:300]}"
                    )

        run()
    assert ran >= 20
    assert not failures, "\n".join(failures[:20])
