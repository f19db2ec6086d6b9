// A k6 script written for the xk6-sql extension, as its README shows it:
// vespid runs it unchanged, the database named by sql.open.
import sql from 'k6/x/sql';
import driver from 'k6/x/sql/driver/sqlite3';
import { check } from 'k6';

const db = sql.open(driver, __ENV.DB_PATH);

export const options = { vus: 2, iterations: 10 };

export function setup() {
  db.exec(`CREATE TABLE IF NOT EXISTS keyvalues (
    id integer PRIMARY KEY AUTOINCREMENT,
    key varchar NOT NULL,
    value varchar);`);
}

export function teardown() {
  db.close();
}

export default function () {
  const result = db.exec("INSERT INTO keyvalues (key, value) VALUES ('plugin-name', 'k6-plugin-sql');");
  check(result, { 'one row inserted': (r) => r.rowsAffected() === 1 });
  const results = db.query('SELECT * FROM keyvalues WHERE key = $1;', 'plugin-name');
  check(results, { 'rows read back': (rows) => rows.length > 0 && rows.every((row) => row.value === 'k6-plugin-sql') });
}
