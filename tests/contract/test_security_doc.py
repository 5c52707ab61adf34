"""docs/security.md shows the role matrix that is enforced, not a copy that drifts from it."""

from __future__ import annotations

from pathlib import Path

from riskwatch_shared.policy import POLICY_TABLE, role_matrix_markdown, with_role_matrix

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_documented_role_matrix_is_the_enforced_table() -> None:
    assert role_matrix_markdown() in SECURITY_DOC.read_text(encoding="utf-8"), (
        "docs/security.md is out of date: regenerate its matrix with "
        "`python -m riskwatch_shared.policy docs/security.md`"
    )


def test_the_matrix_has_a_row_per_policy_row_and_marks_public_ones() -> None:
    matrix = role_matrix_markdown().splitlines()
    assert len(matrix) == len(POLICY_TABLE) + 2
    token_row = next(line for line in matrix if "`/v1/auth/token`" in line)
    assert "public" in token_row
    users_row = next(line for line in matrix if line.startswith("| GET | `/v1/users` |"))
    assert users_row.count("✓") == 1  # admins only


def test_rewriting_the_document_keeps_its_prose_and_replaces_only_the_matrix() -> None:
    stale = "intro\n<!-- role-matrix:start -->\n| old |\n<!-- role-matrix:end -->\noutro\n"
    rewritten = with_role_matrix(stale)
    assert rewritten.startswith("intro\n")
    assert rewritten.endswith("outro\n")
    assert "| old |" not in rewritten
    assert role_matrix_markdown() in rewritten
