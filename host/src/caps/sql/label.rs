//! The `operation` and default `name` tags of a statement's metrics: its
//! verb and the first table it names, so names stay few however the
//! statement's values vary.

/// `select`, `insert`, `update`, `delete`, or `other` (DDL, `with`, …).
pub fn operation(sql: &str) -> &'static str {
    let verb = sql.split_whitespace().next().unwrap_or_default();
    ["select", "insert", "update", "delete"]
        .into_iter()
        .find(|known| verb.eq_ignore_ascii_case(known))
        .unwrap_or("other")
}

/// The operation and the first table the statement names
/// (`select pgbench_accounts`), or the operation alone.
pub fn default_name(sql: &str) -> String {
    let operation = operation(sql);
    let words: Vec<&str> = sql.split_whitespace().collect();
    let after = |keyword: &str| {
        let at = words.iter().position(|word| word.eq_ignore_ascii_case(keyword))?;
        words.get(at + 1).copied()
    };
    let table = match operation {
        "select" | "delete" => after("from"),
        "insert" => after("into"),
        "update" => words.get(1).copied(),
        _ => None,
    };
    let table = table.map(|word| word.split(['(', ',', ';', ')']).next().unwrap_or_default().trim_matches('"'));
    match table.filter(|table| !table.is_empty()) {
        Some(table) => format!("{operation} {table}"),
        None => operation.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_named_by_verb_and_first_table() {
        let cases = [
            ("SELECT abalance FROM pgbench_accounts WHERE aid = $1", "select pgbench_accounts"),
            ("insert into pgbench_history(tid, bid) values ($1, $2)", "insert pgbench_history"),
            ("UPDATE \"tellers\" SET tbalance = 1", "update tellers"),
            ("delete from orders;", "delete orders"),
            ("select 1", "select"),
            ("create table t (a int)", "other"),
            ("  ", "other"),
        ];
        for (sql, name) in cases {
            assert_eq!(default_name(sql), name, "{sql}");
        }
    }
}
