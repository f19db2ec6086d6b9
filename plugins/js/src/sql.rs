//! `vespid:native`'s SQL functions: statements and transactions on the
//! run's datasources as plain values for js/vespid.js, which shapes rows
//! and throws `SqlError`. Each call answers `[true, value]` or `[false,
//! [kind, message, code]]`, so the error is made in JavaScript.

use std::cell::RefCell;
use std::collections::HashMap;

use rquickjs::function::Opt;
use rquickjs::{Array, ArrayBuffer, BigInt, Ctx, IntoJs, Result, Value};

use crate::bindings::vespid::scenario::{sql, vu};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

thread_local! {
    /// Open transactions by handle, with the iteration that began them.
    static TRANSACTIONS: RefCell<HashMap<u32, (u32, sql::Transaction)>> = RefCell::new(HashMap::new());
    static NEXT_HANDLE: RefCell<u32> = const { RefCell::new(1) };
}

/// `sqlRun(datasource, op, sql, params, name)`: `op` "query" answers
/// `[columns, rows]`, "execute" the rows changed.
pub fn run<'js>(
    ctx: Ctx<'js>,
    datasource: String,
    op: String,
    text: String,
    params: Array<'js>,
    name: Opt<Value<'js>>,
) -> Result<Array<'js>> {
    let statement = statement(text, &params, name.0)?;
    match op.as_str() {
        "query" => answer(&ctx, sql::query(&datasource, &statement).map(|rows| rows_value(&ctx, rows))),
        _ => answer(&ctx, sql::execute(&datasource, &statement).map(|changed| changed_value(&ctx, changed))),
    }
}

/// `sqlBegin(datasource)`: a transaction's handle. Handles of earlier
/// iterations are let go first: the host rolled their transactions back
/// when those iterations ended.
pub fn begin<'js>(ctx: Ctx<'js>, datasource: String) -> Result<Array<'js>> {
    let iteration = vu::iteration();
    TRANSACTIONS.with(|open| open.borrow_mut().retain(|_, (began, _)| *began == iteration));
    let begun = sql::begin(&datasource).map(|transaction| {
        let handle = NEXT_HANDLE.with(|next| {
            let mut next = next.borrow_mut();
            let handle = *next;
            *next = next.wrapping_add(1).max(1);
            handle
        });
        TRANSACTIONS.with(|open| open.borrow_mut().insert(handle, (iteration, transaction)));
        Ok(Value::new_number(ctx.clone(), f64::from(handle)))
    });
    answer(&ctx, begun)
}

/// `sqlInTransaction(handle, op, sql, params, name)`: `op` is "query",
/// "execute", "commit" or "rollback"; commit and rollback let the handle go.
pub fn in_transaction<'js>(
    ctx: Ctx<'js>,
    handle: u32,
    op: String,
    text: Opt<String>,
    params: Opt<Array<'js>>,
    name: Opt<Value<'js>>,
) -> Result<Array<'js>> {
    let ending = matches!(op.as_str(), "commit" | "rollback");
    let taken = TRANSACTIONS.with(|open| {
        let mut open = open.borrow_mut();
        if ending { open.remove(&handle).map(|(_, tx)| Some(tx)) } else { open.get(&handle).map(|_| None) }
    });
    let Some(owned) = taken else {
        return answer(&ctx, Err(sql::SqlError::TransactionFinished));
    };
    match (op.as_str(), owned) {
        ("commit", Some(tx)) => answer(&ctx, tx.commit().map(|()| Ok(Value::new_undefined(ctx.clone())))),
        ("rollback", Some(tx)) => answer(&ctx, tx.rollback().map(|()| Ok(Value::new_undefined(ctx.clone())))),
        (kind, _) => {
            let params = params.0.unwrap_or(Array::new(ctx.clone())?);
            let statement = statement(text.0.unwrap_or_default(), &params, name.0)?;
            TRANSACTIONS.with(|open| {
                let open = open.borrow();
                let (_, tx) = open.get(&handle).expect("looked up above");
                match kind {
                    "query" => answer(&ctx, tx.query(&statement).map(|rows| rows_value(&ctx, rows))),
                    _ => answer(&ctx, tx.execute(&statement).map(|changed| changed_value(&ctx, changed))),
                }
            })
        }
    }
}

/// The statement JavaScript describes; `name` is a string, or undefined or null for none.
fn statement(sql: String, params: &Array<'_>, name: Option<Value<'_>>) -> Result<sql::Statement> {
    let params = params.iter::<Value>().map(|value| value.and_then(|value| to_value(&value))).collect::<Result<_>>()?;
    let name = name.and_then(|name| name.as_string().cloned()).map(|name| name.to_string()).transpose()?;
    Ok(sql::Statement { sql, params, name })
}

/// null and undefined are NULL; a whole number within 2^53 (or a BigInt)
/// an integer, another number a float; text; an ArrayBuffer or typed array bytes.
fn to_value(value: &Value<'_>) -> Result<sql::Value> {
    if value.is_null() || value.is_undefined() {
        return Ok(sql::Value::Null);
    }
    if let Some(flag) = value.as_bool() {
        return Ok(sql::Value::Boolean(flag));
    }
    if let Some(int) = value.as_int() {
        return Ok(sql::Value::Integer(i64::from(int)));
    }
    if let Some(number) = value.as_float() {
        let whole = number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER as f64;
        return Ok(if whole { sql::Value::Integer(number as i64) } else { sql::Value::Float(number) });
    }
    if value.is_big_int() {
        // Through its digits: QuickJS's own conversion wraps past 64 bits.
        let digits = value.get::<rquickjs::Coerced<String>>()?.0;
        let int = digits.parse::<i64>().map_err(|_| {
            rquickjs::Error::new_from_js_message("BigInt", "SQL parameter", format!("{digits} does not fit 64 bits"))
        })?;
        return Ok(sql::Value::Integer(int));
    }
    if let Some(text) = value.as_string() {
        return Ok(sql::Value::Text(text.to_string()?));
    }
    if let Some(buffer) = ArrayBuffer::from_value(value.clone()) {
        return Ok(sql::Value::Bytes(crate::native::copy_bytes(&buffer)));
    }
    if let Some(object) = value.as_object()
        && let Ok(buffer) = object.get::<_, ArrayBuffer>("buffer")
    {
        // A typed array or DataView: only its own bytes of the buffer.
        let (offset, length): (usize, usize) = (object.get("byteOffset")?, object.get("byteLength")?);
        let bytes = crate::native::copy_bytes(&buffer);
        let view = bytes.get(offset..offset.saturating_add(length)).unwrap_or_default();
        return Ok(sql::Value::Bytes(view.to_vec()));
    }
    Err(rquickjs::Error::new_from_js_message(
        value.type_name(),
        "SQL parameter",
        "a parameter is null, a boolean, a number, a BigInt, a string or bytes",
    ))
}

/// An integer beyond 2^53 comes back as a BigInt, so no digit is lost.
fn from_value<'js>(ctx: &Ctx<'js>, value: sql::Value) -> Result<Value<'js>> {
    match value {
        sql::Value::Null => Ok(Value::new_null(ctx.clone())),
        sql::Value::Boolean(flag) => Ok(Value::new_bool(ctx.clone(), flag)),
        sql::Value::Integer(int) if int.abs() <= MAX_SAFE_INTEGER => Ok(Value::new_number(ctx.clone(), int as f64)),
        sql::Value::Integer(int) => BigInt::from_i64(ctx.clone(), int)?.into_js(ctx),
        sql::Value::Float(number) => Ok(Value::new_number(ctx.clone(), number)),
        sql::Value::Text(text) => text.into_js(ctx),
        sql::Value::Bytes(bytes) => ArrayBuffer::new(ctx.clone(), bytes)?.into_js(ctx),
    }
}

/// Rows changed, as a number.
fn changed_value<'js>(ctx: &Ctx<'js>, changed: u32) -> Result<Value<'js>> {
    Ok(Value::new_number(ctx.clone(), f64::from(changed)))
}

/// `[columns, [[values…]…]]`.
fn rows_value<'js>(ctx: &Ctx<'js>, rows: sql::Rows) -> Result<Value<'js>> {
    let out = Array::new(ctx.clone())?;
    out.set(0, rows.columns)?;
    let list = Array::new(ctx.clone())?;
    for (index, values) in rows.rows.into_iter().enumerate() {
        let row = Array::new(ctx.clone())?;
        for (column, value) in values.into_iter().enumerate() {
            row.set(column, from_value(ctx, value)?)?;
        }
        list.set(index, row)?;
    }
    out.set(1, list)?;
    Ok(out.into_value())
}

/// `[true, value]`, or `[false, [kind, message, code]]` for vespid.js to throw.
fn answer<'js>(ctx: &Ctx<'js>, result: std::result::Result<Result<Value<'js>>, sql::SqlError>) -> Result<Array<'js>> {
    let out = Array::new(ctx.clone())?;
    match result {
        Ok(value) => {
            out.set(0, true)?;
            out.set(1, value?)?;
        }
        Err(error) => {
            out.set(0, false)?;
            let (kind, message, code) = describe(error);
            out.set(1, vec![Some(kind.to_string()), Some(message), code])?;
        }
    }
    Ok(out)
}

fn describe(error: sql::SqlError) -> (&'static str, String, Option<String>) {
    use sql::SqlError as E;
    match error {
        E::UnknownDatasource(message) => ("unknown-datasource", format!("unknown datasource {message}"), None),
        E::Connection(message) => ("connection", format!("connection failed: {message}"), None),
        E::Query(error) => ("query", format!("query failed: {}", error.message), error.code),
        E::ConstraintViolation(error) => {
            ("constraint-violation", format!("constraint violation: {}", error.message), error.code)
        }
        E::Timeout => ("timeout", "statement timed out".into(), None),
        E::PoolExhausted => ("pool-exhausted", "no connection free within the pool's acquire timeout".into(), None),
        E::TransactionFinished => {
            ("transaction-finished", "the transaction was already committed or rolled back".into(), None)
        }
        E::UnsupportedType(message) => ("unsupported-type", format!("unsupported column type: {message}"), None),
        E::Denied(denial) => ("denied", denial.message, None),
    }
}
