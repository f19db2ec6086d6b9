//! Test and benchmark guest: each iteration reads data set `DATA_SET` and
//! sends `GET {BASE_URL}/?user=<value>`, where the value is field `FIELD`
//! of this VU's row (a CSV column, or a key of a JSON lines object). It
//! records the check "read <value>" and checks on what the host returned:
//! "for_vu is row vu.id-1" and "random row is well-formed". Without
//! `DATA_SET` it reads nothing and sends `GET {BASE_URL}/`.
use vespid_sdk::{Scenario, check, data, http, vu};

struct Reader {
    base_url: String,
    set: Option<String>,
    field: String,
}

impl Scenario for Reader {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base_url = vu::env("BASE_URL").ok_or("BASE_URL is required")?;
        let field = vu::env("FIELD").unwrap_or_else(|| "user".into());
        Ok(Reader { base_url, set: vu::env("DATA_SET"), field })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let Some(set) = &self.set else {
            http::get(format!("{}/", self.base_url)).send()?;
            return Ok(());
        };
        let row = data::for_vu(set)?;
        let own_index = (vu::id() - 1) % data::len(set)?;
        check("for_vu is row vu.id-1", row == data::get(set, own_index)?);
        let random = data::random(set)?;
        let well_formed = if random.columns().is_empty() {
            random.json::<serde_json::Value>().is_ok()
        } else {
            random.fields().len() == random.columns().len()
        };
        check("random row is well-formed", well_formed);

        let value = field_value(&row, &self.field).ok_or_else(|| format!("the row has no field {:?}", self.field))?;
        check(&format!("read {value}"), true);
        http::get(format!("{}/?user={}", self.base_url, query_encoded(&value))).send()?;
        Ok(())
    }
}

/// A CSV row's column `name`, or key `name` of a JSON lines object.
fn field_value(row: &data::Row, name: &str) -> Option<String> {
    if row.columns().is_empty() {
        let object: serde_json::Value = row.json().ok()?;
        Some(object.get(name)?.as_str()?.to_string())
    } else {
        row.get(name).map(String::from)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn query_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

vespid_sdk::export!(Reader);
