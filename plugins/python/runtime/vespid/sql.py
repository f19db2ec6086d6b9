"""SQL on the run's datasources (`[datasources.NAME]`, `--datasource
NAME=URL`): the host owns the pools and measures every statement
(`sql_queries`, `sql_query_duration`, …; docs/sql.md).

    from vespid import sql
    rows = sql.query("main", "select abalance from pgbench_accounts where aid = $1", [aid])
    balance = rows[0]["abalance"]
    with sql.transaction("main") as tx:      # committed at the end, rolled back on an exception
        tx.execute("update pgbench_accounts set abalance = abalance + $1 where aid = $2", [delta, aid])

Parameters and values are None, bool, int, float, str and bytes;
timestamps, numerics, UUIDs and JSON come back as text.
"""
from typing import Any, List, Optional, Sequence

from componentize_py_types import Err
from wit_world.imports import sql as wit_sql

__all__ = ["query", "execute", "transaction", "Rows", "SqlError", "Transaction"]


class SqlError(Exception):
    """A statement or transaction failed: `kind` is the WIT case
    (`unknown-datasource`, `connection`, `query`, `constraint-violation`,
    `timeout`, `pool-exhausted`, `transaction-finished`,
    `unsupported-type`, `denied`), `code` the database's SQLSTATE when it gave one."""

    def __init__(self, error):
        name = type(error).__name__.removeprefix("SqlError_")
        self.kind = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
        detail = getattr(error, "value", None)
        self.code = getattr(detail, "code", None)
        message = getattr(detail, "message", detail)
        self.permission = getattr(detail, "permission", None)
        if message is None:
            super().__init__(self.kind)
        else:
            # A denial's message names itself ("denied: datasource …").
            super().__init__(message if self.kind == "denied" else f"{self.kind}: {message}")


class Rows(list):
    """The rows of a query, each a dict by column name; `columns` in order."""

    def __init__(self, result):
        self.columns = list(result.columns)
        super().__init__(dict(zip(self.columns, map(_from_value, values))) for values in result.rows)


def _to_value(value: Any):
    if value is None:
        return wit_sql.Value_Null()
    if isinstance(value, bool):
        return wit_sql.Value_Boolean(value)
    if isinstance(value, int):
        return wit_sql.Value_Integer(value)
    if isinstance(value, float):
        return wit_sql.Value_Float(value)
    if isinstance(value, str):
        return wit_sql.Value_Text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return wit_sql.Value_Bytes(bytes(value))
    raise TypeError(f"a SQL parameter is None, bool, int, float, str or bytes, not {type(value).__name__}")


def _from_value(value):
    return None if isinstance(value, wit_sql.Value_Null) else value.value


def _statement(sql: str, params: Sequence[Any], name: Optional[str]):
    return wit_sql.Statement(sql=sql, params=[_to_value(value) for value in params], name=name)


def _call(function, *args):
    try:
        return function(*args)
    except Err as failed:
        raise SqlError(failed.value) from None


def query(datasource: str, sql: str, params: Sequence[Any] = (), name: Optional[str] = None) -> Rows:
    """Runs a statement and returns its rows; raises SqlError."""
    return Rows(_call(wit_sql.query, datasource, _statement(sql, params, name)))


def execute(datasource: str, sql: str, params: Sequence[Any] = (), name: Optional[str] = None) -> int:
    """Runs a statement and returns how many rows it changed; raises SqlError."""
    return _call(wit_sql.execute, datasource, _statement(sql, params, name))


class Transaction:
    """An open transaction on one connection: `with` commits it when the
    block ends and rolls it back when the block raises. Left open at the
    end of the iteration, the host rolls it back."""

    def __init__(self, datasource: str):
        self._handle = _call(wit_sql.begin, datasource)

    def query(self, sql: str, params: Sequence[Any] = (), name: Optional[str] = None) -> Rows:
        return Rows(_call(self._handle.query, _statement(sql, params, name)))

    def execute(self, sql: str, params: Sequence[Any] = (), name: Optional[str] = None) -> int:
        return _call(self._handle.execute, _statement(sql, params, name))

    def commit(self) -> None:
        _call(self._handle.commit)

    def rollback(self) -> None:
        _call(self._handle.rollback)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        try:
            if kind is None:
                self.commit()
            else:
                try:
                    self.rollback()
                except SqlError:
                    pass  # the block's own exception is the one to see
        finally:
            self._handle.__exit__(None, None, None)
        return False


def transaction(datasource: str) -> Transaction:
    """Begins a transaction on `datasource`: `with sql.transaction("main") as tx:`."""
    return Transaction(datasource)
