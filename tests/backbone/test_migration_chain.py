"""The migrations form one chain with one head (parallel branches must re-chain before merging)."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from qingshan.storage.db import alembic_config, head_revision


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def test_one_head_and_no_branch_points() -> None:
    script = _script()
    assert script.get_heads() == [head_revision()]
    for rev in script.walk_revisions():
        assert len(rev.nextrev) <= 1, f"{rev.revision} is a branch point: {rev.nextrev}"
        assert not rev.is_merge_point, f"{rev.revision} merges branches; re-chain instead"


def test_revisions_are_numbered_in_chain_order() -> None:
    # Revision ids start with a number that grows along the chain, so the file list reads
    # in upgrade order and a newly added revision shows where it belongs.
    chain = [r.revision for r in _script().walk_revisions("base", "heads")][::-1]
    numbers = [int(r.split("_", 1)[0]) for r in chain]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), chain
