//! One statement on one connection, for either driver: prepared (and
//! cached per connection by sqlx), its WIT parameters bound as the types
//! the database expects, its rows turned into WIT values. What differs by
//! database is the [`Driver`] of each.

use std::fmt::Display;

use bigdecimal::BigDecimal;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgRow, PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow, SqliteValueRef};
use sqlx::{
    AssertSqlSafe, Column, Database, Decode, Either, Executor, IntoArguments, Row, SqlSafeStr, Statement, TypeInfo,
    ValueRef,
};

use crate::bindings::sql::{SqlError, Value};

/// What one statement did.
pub struct Outcome {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Rows changed (execute) or returned (query).
    pub rows_touched: u64,
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

/// What differs between PostgreSQL and SQLite.
pub trait Driver: Database {
    /// Binds `value` as parameter `index`'s type (`expected`, when the
    /// database says it).
    fn bind<'q>(
        query: Query<'q, Self>,
        value: &Value,
        expected: Option<&Self::TypeInfo>,
    ) -> Result<Query<'q, Self>, String>;

    /// Column `index` of `row` as a WIT value.
    fn value(row: &Self::Row, index: usize) -> Result<Value, SqlError>;

    /// The rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// Whether `rows_affected` is the statement's own for any statement;
    /// SQLite's is the last insert, update or delete of the connection's.
    const COUNTS_EVERY_STATEMENT: bool;
}

/// Runs `sql` with `params` on `connection`: its rows when `fetch` (at
/// most `max_bytes` of them: no result may make the host hold more than a
/// VU could take), else only what it changed.
pub async fn run<DB>(
    connection: &mut DB::Connection,
    sql: &str,
    params: &[Value],
    fetch: bool,
    max_bytes: usize,
) -> Result<Outcome, SqlError>
where
    DB: Driver,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let statement = (&mut *connection)
        .prepare_with(AssertSqlSafe(sql.to_string()).into_sql_str(), &[])
        .await
        .map_err(super::error::from_sqlx)?;
    let expected: Option<&[DB::TypeInfo]> = match statement.parameters() {
        Some(Either::Left(types)) => Some(types),
        _ => None,
    };
    let placeholders = match statement.parameters() {
        Some(Either::Left(types)) => Some(types.len()),
        Some(Either::Right(count)) => Some(count),
        None => None,
    };
    if let Some(placeholders) = placeholders.filter(|count| *count != params.len()) {
        return Err(host_refused(format!(
            "the statement has {placeholders} placeholders but {} values were given",
            params.len()
        )));
    }
    let mut query = statement.query();
    for (index, value) in params.iter().enumerate() {
        let expected = expected.and_then(|types| types.get(index));
        query =
            DB::bind(query, value, expected).map_err(|why| host_refused(format!("parameter {}: {why}", index + 1)))?;
    }
    let columns: Vec<String> = statement.columns().iter().map(|column| column.name().to_string()).collect();
    if fetch {
        let mut found = query.fetch(&mut *connection);
        let (mut rows, mut bytes) = (Vec::new(), 0usize);
        while let Some(row) = found.try_next().await.map_err(super::error::from_sqlx)? {
            let values = (0..row.columns().len()).map(|index| DB::value(&row, index)).collect::<Result<Vec<_>, _>>()?;
            bytes += values.iter().map(size_of_value).sum::<usize>();
            if bytes > max_bytes {
                return Err(host_refused(format!(
                    "the result passed {max_bytes} bytes (the VU's memory limit) at row {}: select fewer rows",
                    rows.len() + 1
                )));
            }
            rows.push(values);
        }
        Ok(Outcome { rows_touched: rows.len() as u64, columns, rows })
    } else {
        let result = query.execute(&mut *connection).await.map_err(super::error::from_sqlx)?;
        let changes =
            DB::COUNTS_EVERY_STATEMENT || matches!(super::label::operation(sql), "insert" | "update" | "delete");
        let rows_touched = if changes { DB::rows_affected(&result) } else { 0 };
        Ok(Outcome { columns, rows: Vec::new(), rows_touched })
    }
}

/// What a value takes in the VU, roughly: its payload and a slot.
fn size_of_value(value: &Value) -> usize {
    16 + match value {
        Value::Text(text) => text.len(),
        Value::Bytes(bytes) => bytes.len(),
        _ => 0,
    }
}

/// A statement the host refused (its parameters, or a result too big), as a query error.
fn host_refused(message: String) -> SqlError {
    SqlError::Query(crate::bindings::sql::DatabaseError { message, code: None })
}

fn cannot<T>(value: &Value, wanted: impl Display) -> Result<T, String> {
    Err(format!("{} cannot be given as {wanted}", describe(value)))
}

/// The text a value of type `wanted` is parsed from.
fn text_for<'v>(value: &'v Value, wanted: &str) -> Result<&'v str, String> {
    match value {
        Value::Text(text) => Ok(text),
        _ => cannot(value, format!("{wanted} (give it as text)")),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Boolean(v) => format!("boolean {v}"),
        Value::Integer(v) => format!("integer {v}"),
        Value::Float(v) => format!("float {v}"),
        Value::Text(v) => format!("text {v:?}"),
        Value::Bytes(v) => format!("{} bytes", v.len()),
    }
}

fn parsed<T: std::str::FromStr>(text: &str, wanted: &str) -> Result<T, String>
where
    T::Err: Display,
{
    text.parse().map_err(|err| format!("text {text:?} is not a {wanted}: {err}"))
}

impl Driver for Postgres {
    /// As the type PostgreSQL inferred for the placeholder: an integer
    /// fits any integer or numeric column it fits in, text is parsed into
    /// timestamps, numerics, UUIDs and JSON.
    fn bind<'q>(
        query: Query<'q, Self>,
        value: &Value,
        expected: Option<&PgTypeInfo>,
    ) -> Result<Query<'q, Self>, String> {
        let wanted = expected.map_or("TEXT", |info| info.name());
        if matches!(value, Value::Null) {
            return Ok(query.bind(None::<String>));
        }
        let text = match value {
            Value::Text(text) => Some(text.as_str()),
            _ => None,
        };
        let integer = match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        };
        Ok(match wanted {
            "BOOL" => match value {
                Value::Boolean(v) => query.bind(*v),
                _ => return cannot(value, wanted),
            },
            "INT2" | "INT4" | "INT8" => {
                let Some(v) = integer.or(text.map(|t| parsed::<i64>(t, "integer")).transpose()?) else {
                    return cannot(value, wanted);
                };
                let range = || format!("integer {v} is out of range for {wanted}");
                match wanted {
                    "INT2" => query.bind(i16::try_from(v).map_err(|_| range())?),
                    "INT4" => query.bind(i32::try_from(v).map_err(|_| range())?),
                    _ => query.bind(v),
                }
            }
            "FLOAT4" | "FLOAT8" => {
                let v = match value {
                    Value::Float(v) => *v,
                    Value::Integer(v) => *v as f64,
                    Value::Text(t) => parsed::<f64>(t, "number")?,
                    _ => return cannot(value, wanted),
                };
                if wanted == "FLOAT4" { query.bind(v as f32) } else { query.bind(v) }
            }
            "NUMERIC" => query.bind(match value {
                Value::Integer(v) => BigDecimal::from(*v),
                // By its shortest text: 19.99 is 19.99, not the binary float's 55 digits.
                Value::Float(v) => parsed::<BigDecimal>(&v.to_string(), "number")?,
                Value::Text(t) => parsed::<BigDecimal>(t, "number")?,
                _ => return cannot(value, wanted),
            }),
            "BYTEA" => match value {
                Value::Bytes(v) => query.bind(v.clone()),
                _ => return cannot(value, wanted),
            },
            "UUID" => query.bind(parsed::<uuid::Uuid>(text_for(value, wanted)?, "UUID")?),
            "TIMESTAMPTZ" => query.bind(timestamp_tz(text_for(value, wanted)?)?),
            "TIMESTAMP" => query.bind(timestamp(text_for(value, wanted)?)?),
            "DATE" => query.bind(parsed::<NaiveDate>(text_for(value, wanted)?, "date")?),
            "TIME" => query.bind(parsed::<NaiveTime>(text_for(value, wanted)?, "time")?),
            "JSON" | "JSONB" => {
                let json: serde_json::Value = match value {
                    Value::Text(t) => serde_json::from_str(t).map_err(|err| format!("text is not JSON: {err}"))?,
                    Value::Integer(v) => (*v).into(),
                    Value::Float(v) => (*v).into(),
                    Value::Boolean(v) => (*v).into(),
                    _ => return cannot(value, wanted),
                };
                query.bind(sqlx::types::Json(json))
            }
            _ => match value {
                Value::Text(t) => query.bind(t.clone()),
                Value::Integer(v) => query.bind(v.to_string()),
                Value::Float(v) => query.bind(v.to_string()),
                Value::Boolean(v) => query.bind(v.to_string()),
                _ => return cannot(value, wanted),
            },
        })
    }

    fn value(row: &PgRow, index: usize) -> Result<Value, SqlError> {
        let raw = row.try_get_raw(index).map_err(super::error::from_sqlx)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let kind = raw.type_info().name().to_string();
        let decoded = pg_value(raw, &kind);
        decoded.map_err(|err| match err {
            Unsupported::Type => SqlError::UnsupportedType(format!(
                "column {:?} is {kind}; cast it to text in the statement",
                row.columns()[index].name()
            )),
            Unsupported::Decode(why) => {
                SqlError::UnsupportedType(format!("column {:?}: {why}", row.columns()[index].name()))
            }
        })
    }

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }

    const COUNTS_EVERY_STATEMENT: bool = true;
}

enum Unsupported {
    Type,
    Decode(String),
}

fn decode<'r, T: Decode<'r, DB>, DB: Database>(raw: DB::ValueRef<'r>) -> Result<T, Unsupported> {
    T::decode(raw).map_err(|err| Unsupported::Decode(err.to_string()))
}

fn pg_value(raw: PgValueRef<'_>, kind: &str) -> Result<Value, Unsupported> {
    Ok(match kind {
        "BOOL" => Value::Boolean(decode::<bool, Postgres>(raw)?),
        "INT2" => Value::Integer(decode::<i16, Postgres>(raw)?.into()),
        "INT4" => Value::Integer(decode::<i32, Postgres>(raw)?.into()),
        "INT8" => Value::Integer(decode::<i64, Postgres>(raw)?),
        "OID" => Value::Integer(decode::<sqlx::postgres::types::Oid, Postgres>(raw)?.0.into()),
        "FLOAT4" => Value::Float(decode::<f32, Postgres>(raw)?.into()),
        "FLOAT8" => Value::Float(decode::<f64, Postgres>(raw)?),
        "NUMERIC" => Value::Text(decode::<BigDecimal, Postgres>(raw)?.to_plain_string()),
        "BYTEA" => Value::Bytes(decode::<Vec<u8>, Postgres>(raw)?),
        "UUID" => Value::Text(decode::<uuid::Uuid, Postgres>(raw)?.to_string()),
        "TIMESTAMPTZ" => {
            Value::Text(decode::<DateTime<Utc>, Postgres>(raw)?.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        "TIMESTAMP" => Value::Text(decode::<NaiveDateTime, Postgres>(raw)?.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        "DATE" => Value::Text(decode::<NaiveDate, Postgres>(raw)?.to_string()),
        "TIME" => Value::Text(decode::<NaiveTime, Postgres>(raw)?.to_string()),
        "JSON" | "JSONB" => Value::Text(decode::<sqlx::types::Json<serde_json::Value>, Postgres>(raw)?.0.to_string()),
        "VOID" => Value::Null,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "UNKNOWN" => {
            Value::Text(decode::<String, Postgres>(raw)?)
        }
        _ => return Err(Unsupported::Type),
    })
}

/// `2026-12-02T10:00:00Z`, `2026-12-02 10:00:00+01`, …
fn timestamp_tz(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map_err(|err| format!("text {text:?} is not an RFC 3339 timestamp: {err}"))
}

/// `2026-12-02T10:00:00` or with a space.
fn timestamp(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|err| format!("text {text:?} is not a timestamp: {err}"))
}

impl Driver for Sqlite {
    /// SQLite's values carry their own types: each is bound as it is.
    fn bind<'q>(
        query: Query<'q, Self>,
        value: &Value,
        _expected: Option<&sqlx::sqlite::SqliteTypeInfo>,
    ) -> Result<Query<'q, Self>, String> {
        Ok(match value {
            Value::Null => query.bind(None::<String>),
            Value::Boolean(v) => query.bind(*v),
            Value::Integer(v) => query.bind(*v),
            Value::Float(v) => query.bind(*v),
            Value::Text(v) => query.bind(v.clone()),
            Value::Bytes(v) => query.bind(v.clone()),
        })
    }

    fn value(row: &SqliteRow, index: usize) -> Result<Value, SqlError> {
        let raw = row.try_get_raw(index).map_err(super::error::from_sqlx)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        sqlite_value(raw).map_err(|err| {
            let why = match err {
                Unsupported::Type => "a value of an unknown storage class".to_string(),
                Unsupported::Decode(why) => why,
            };
            SqlError::UnsupportedType(format!("column {:?}: {why}", row.columns()[index].name()))
        })
    }

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    const COUNTS_EVERY_STATEMENT: bool = false;
}

/// By the value's own storage class (its column's declared type aside).
fn sqlite_value(raw: SqliteValueRef<'_>) -> Result<Value, Unsupported> {
    let class = raw.type_info().name().to_string();
    Ok(match class.as_str() {
        "INTEGER" | "BOOLEAN" | "INT8" => Value::Integer(decode::<i64, Sqlite>(raw)?),
        "REAL" => Value::Float(decode::<f64, Sqlite>(raw)?),
        "TEXT" | "DATETIME" | "DATE" | "TIME" => Value::Text(decode::<String, Sqlite>(raw)?),
        "BLOB" => Value::Bytes(decode::<Vec<u8>, Sqlite>(raw)?),
        _ => return Err(Unsupported::Type),
    })
}
