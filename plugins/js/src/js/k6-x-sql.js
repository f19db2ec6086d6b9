// k6/x/sql: xk6-sql's API, so k6 scripts written for the xk6-sql extension
// run unchanged. Each `sql.open(driver, connection)` in the init context
// names a datasource of the run (`k6sql1`, `k6sql2`, … in the order the
// script opens them; the connection string never becomes a tag): vespid
// reads them when it loads the script for its options and opens one pool
// each for the run. Statements go through the `vespid` module's sql, so
// they are measured like any other (sql_queries, …).
import { sql } from 'vespid';

const opened = (globalThis.__vespidSqlDatasources = globalThis.__vespidSqlDatasources || {});
let count = 0;

/** The datasource URL of xk6-sql's driver and connection string. */
function datasourceUrl(driver, connection) {
  const text = String(connection);
  switch (driver && driver.name) {
    case 'postgres':
      if (!/^postgres(ql)?:\/\//.test(text)) {
        throw new TypeError('k6/x/sql: vespid opens PostgreSQL by URL (postgres://user:password@host:port/db)');
      }
      return text;
    case 'sqlite3':
      return text === ':memory:' ? 'sqlite::memory:' : `sqlite:${text}`;
    default:
      throw new TypeError('k6/x/sql: open(driver, connection) takes the driver of k6/x/sql/driver/postgres or k6/x/sql/driver/sqlite3');
  }
}

class Database {
  constructor(name) {
    this.name = name;
  }

  /** Runs a statement; `rowsAffected()` tells how many rows it changed. */
  exec(query, ...args) {
    const changed = sql.execute(this.name, query, args);
    return {
      rowsAffected: () => changed,
      lastInsertId: () => {
        throw new Error('k6/x/sql: lastInsertId is not supported by vespid; use RETURNING id with db.query');
      },
    };
  }

  /** Runs a query; its rows as objects by column name. */
  query(query, ...args) {
    return Array.from(sql.query(this.name, query, args));
  }

  /** The pool is the run's: closing it is the run's end. */
  close() {}
}

export function open(driver, connection) {
  count += 1;
  const name = `k6sql${count}`;
  opened[name] = datasourceUrl(driver, connection);
  return new Database(name);
}

export default { open };
