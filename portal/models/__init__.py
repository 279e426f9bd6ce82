"""Typed SQLAlchemy models: tables and columns only, no queries, no crypto, no Flask."""

from portal.models.base import Base
from portal.models.users import Role, User

__all__ = ["Base", "Role", "User"]
