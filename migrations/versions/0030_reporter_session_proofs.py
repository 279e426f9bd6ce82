"""reporter session proofs

The proofs of report of the messages a reporter sent in a session, wrapped under the key in the
reporter's cookie, so the case page can offer them for download until the session ends. A new
nullable column; nothing existing is copied or rewritten.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reporter_sessions", sa.Column("wrapped_proofs", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("reporter_sessions", "wrapped_proofs")
