"""Rows of one transaction written together: one statement per table instead of one per row.

Inside ``batched(session)``, the audit trail, the outbox and the system messages hand their new
rows here instead of adding ORM objects; they are inserted when the block ends, table by table in
the order they were added: a COPY on PostgreSQL, an executemany on SQLite. Nothing needs their
ids back, so no RETURNING is asked for (SQLite would otherwise insert them one at a time to match
ids to rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Dialect, Table, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.models import Base

_KEY = "candor.row_batch"


@dataclass
class RowBatch:
    rows: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        self.rows.setdefault(model, []).append(row)

    def write(self, session: Session) -> None:
        connection = session.connection()
        copy = connection.dialect.name == "postgresql"
        for model, rows in self.rows.items():
            table = cast(Table, model.__table__)
            if copy:
                _copy(connection, table, rows)
            else:
                # A plain table insert: the ORM's bulk path would look at every row again.
                session.execute(insert(table), rows)
        self.rows.clear()


def _copy(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows in one COPY, each value first made ready by its column's SQL type.

    COPY is PostgreSQL's bulk load: one statement for the lot, where an executemany still runs
    one INSERT per row on the server. A column the rows leave out gets its scalar default, as
    an INSERT would give it, or the server's default when it has none.
    """
    dialect = connection.dialect
    given = set().union(*rows)
    columns = [c for c in table.columns if c.default is not None or c.key in given]
    defaults = {}
    for column in columns:
        if column.default is not None:
            if not column.default.is_scalar:
                raise ValueError(f"{table.name}.{column.key}: only scalar defaults are filled in")
            defaults[column.key] = column.default.arg  # type: ignore[attr-defined]
    bind = _binders(dialect, columns)
    quote = dialect.identifier_preparer.quote
    sql = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(column.name) for column in columns)}) FROM STDIN"
    )
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection was closed")
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(bind([row.get(c.key, defaults.get(c.key)) for c in columns]))


def _binders(
    dialect: Dialect, columns: Sequence[ColumnElement[Any]]
) -> Callable[[list[Any]], list[Any]]:
    """A function making one row's values (in ``columns`` order) ready for the driver, as
    SQLAlchemy would for a bound parameter: each through its column type's bind processor."""
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]

    def bind(values: list[Any]) -> list[Any]:
        return [
            value if process is None else process(value)
            for value, process in zip(values, processors, strict=True)
        ]

    return bind


def current(session: Session) -> RowBatch | None:
    """The batch open on this session, if any."""
    return session.info.get(_KEY)


def add(session: Session, model: type[Base], fields: dict[str, Any]) -> None:
    """A new row: kept for the open batch, or added to the session as an object."""
    rows = current(session)
    if rows is not None:
        rows.add(model, fields)
    else:
        session.add(model(**fields))


@contextmanager
def batched(session: Session) -> Iterator[RowBatch]:
    """Collect new rows for the block and insert them at its end (not if it raises)."""
    if _KEY in session.info:
        raise RuntimeError("a row batch is already open on this session")
    batch = session.info[_KEY] = RowBatch()
    try:
        yield batch
        batch.write(session)
    finally:
        session.info.pop(_KEY, None)


def update_changed(session: Session, model: type[Base]) -> int:
    """PostgreSQL: the session's changed ``model`` objects written in one UPDATE, not one each.

    The new values go as one array per column, unnested and joined on the primary key; the
    objects are then marked written, so that the next flush leaves them alone. Objects with
    any other change (a relationship, their key) are left to that flush. Elsewhere this does
    nothing: SQLite runs the flush's per-row UPDATEs in process, at no network cost.
    Returns how many objects were written.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return 0
    table = cast(Table, model.__table__)
    (key_column,) = table.primary_key.columns
    mapper = inspect(model)
    columns = {prop.key: prop.columns[0] for prop in mapper.column_attrs}
    attributes = frozenset(mapper.attrs.keys())
    groups: dict[frozenset[str], list[Any]] = {}
    for obj in session.dirty:
        if isinstance(obj, model):
            keys = attributes - inspect(obj).unmodified
            if keys and keys <= columns.keys() and key_column.key not in keys:
                groups.setdefault(keys, []).append(obj)
    for keys, objects in groups.items():
        _update(
            connection,
            table,
            [columns[key_column.key], *(columns[k] for k in sorted(keys))],
            objects,
        )
        for obj in objects:
            for key in keys:
                set_committed_value(obj, key, getattr(obj, key))
    return sum(len(objects) for objects in groups.values())


def _update(connection: Connection, table: Table, columns: list[Any], objects: list[Any]) -> None:
    """UPDATE ``table`` from one array per column; the first column is the primary key."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    bind = _binders(dialect, columns)
    rows = [bind([getattr(obj, column.key) for column in columns]) for obj in objects]
    arrays = {f"c{n}": list(values) for n, values in enumerate(zip(*rows, strict=True))}
    unnest = ", ".join(
        f"%(c{n})s::{column.type.compile(dialect=dialect)}[]" for n, column in enumerate(columns)
    )
    assignments = ", ".join(
        f"{quote(column.name)} = v.c{n}" for n, column in enumerate(columns) if n
    )
    table_name = dialect.identifier_preparer.format_table(table)
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    # Every name here comes from the table's own metadata; the values are bound.
    sql = f"UPDATE {table_name} AS t SET {assignments} FROM unnest({unnest}) AS v({aliases}) "  # noqa: S608
    connection.exec_driver_sql(sql + f"WHERE t.{quote(columns[0].name)} = v.c0", arrays)
