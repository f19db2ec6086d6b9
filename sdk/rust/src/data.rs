//! Rows of the run's shared data sets (`--data NAME=FILE`) through the
//! host's `data` interface. The host holds the data; this module only keeps
//! each set's column names, fetched once, to find fields by name.
//!
//! ```no_run
//! use vespid_sdk::data;
//!
//! # fn iteration() -> vespid_sdk::Result {
//! // users.csv: `user,password` then one row per user.
//! let row = data::for_vu("users")?; // this VU's own user
//! let user = row.get("user").unwrap_or_default();
//! let random_user = data::random("users")?;
//! let first = data::get("users", 0)?;
//! # Ok(())
//! # }
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use crate::bindings::vespid::scenario::data as wit;

/// One row: a CSV row's fields in column order, or a JSON lines row's one
/// field, the line's JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    fields: Vec<String>,
    columns: Rc<[String]>,
}

impl Row {
    /// The field in column `name` (CSV); `None` if the set has no such column.
    pub fn get(&self, name: &str) -> Option<&str> {
        let index = self.columns.iter().position(|column| column == name)?;
        self.field(index)
    }

    /// The field at `index`, from 0.
    pub fn field(&self, index: usize) -> Option<&str> {
        self.fields.get(index).map(String::as_str)
    }

    /// All fields in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The set's column names (empty for JSON lines).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The fields, taken out of the row.
    pub fn into_fields(self) -> Vec<String> {
        self.fields
    }

    /// The first field parsed as JSON: a JSON lines row's value.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.field(0).unwrap_or_default())
    }
}

/// Why a data set could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The run declares no set of this name.
    UnknownSet(String),
    /// The run declares the set but does not grant it to this plugin.
    Denied(crate::Denial),
    /// [`get`] asked for a row past the end of the set.
    OutOfRange {
        /// The set's name.
        set: String,
        /// The row asked for.
        index: u32,
        /// The set's number of rows.
        len: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownSet(set) => write!(f, "no data set named {set:?} (declare it with --data {set}=FILE)"),
            Error::OutOfRange { set, index, len } => {
                write!(f, "data set {set:?} has {len} rows: row {index} is out of range")
            }
            Error::Denied(denial) => denial.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// `index`: the row asked for; only [`get`] asks for one and can be out of range.
fn error(set: &str, index: u32, err: wit::DataError) -> Error {
    match err {
        wit::DataError::UnknownSet(name) => Error::UnknownSet(name),
        wit::DataError::OutOfRange(len) => Error::OutOfRange { set: set.to_string(), index, len },
        wit::DataError::Denied(denial) => Error::Denied(denial.into()),
    }
}

/// The column names of `set` (CSV header; empty for JSON lines), fetched
/// from the host once per set: a set never changes during a run.
pub fn columns(set: &str) -> Result<Rc<[String]>, Error> {
    thread_local! {
        static COLUMNS: RefCell<HashMap<String, Rc<[String]>>> = RefCell::new(HashMap::new());
    }
    if let Some(columns) = COLUMNS.with(|cache| cache.borrow().get(set).cloned()) {
        return Ok(columns);
    }
    let columns: Rc<[String]> = wit::columns(set).map_err(|err| error(set, 0, err))?.into();
    COLUMNS.with(|cache| cache.borrow_mut().insert(set.to_string(), columns.clone()));
    Ok(columns)
}

fn row(set: &str, index: u32, fields: Result<Vec<String>, wit::DataError>) -> Result<Row, Error> {
    let fields = fields.map_err(|err| error(set, index, err))?;
    Ok(Row { fields, columns: columns(set)? })
}

/// The number of rows in `set` (at least 1).
pub fn len(set: &str) -> Result<u32, Error> {
    wit::len(set).map_err(|err| error(set, 0, err))
}

/// Row `index` of `set`, from 0.
pub fn get(set: &str, index: u32) -> Result<Row, Error> {
    row(set, index, wit::get(set, index))
}

/// This VU's own row: row `(vu::id() - 1) % len`, so each VU reads a
/// different row while there are no more VUs than rows.
pub fn for_vu(set: &str) -> Result<Row, Error> {
    row(set, 0, wit::for_vu(set))
}

/// A row picked at random (repeatably: each VU's generator is seeded from
/// its id).
pub fn random(set: &str) -> Result<Row, Error> {
    row(set, 0, wit::random(set))
}
