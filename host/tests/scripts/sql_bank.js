// examples/rust/sql-bank in JavaScript (the vespid module's sql): pgbench's
// TPC-B-like transaction on pgbench's tables, which setup creates and seeds
// (accounts cut to 1,000 for speed). Also: a constraint violation throws
// SqlError with its kind and rolls the transaction back, and an unknown
// datasource names the ones there are.
import { check, sql, vu, SqlError } from 'vespid';

const ACCOUNTS = 1000;
const TELLERS = 10;

export function setup() {
  for (const ddl of [
    'create table if not exists pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))',
    'create table if not exists pgbench_tellers (tid int not null primary key, bid int, tbalance int, filler char(84))',
    'create table if not exists pgbench_accounts (aid int not null primary key, bid int, abalance int, filler char(84))',
    'create table if not exists pgbench_branches (bid int not null primary key, bbalance int, filler char(88))',
  ]) {
    sql.execute('main', ddl);
  }
  if (sql.query('main', 'select count(*) as n from pgbench_branches')[0].n === 0) {
    sql.transaction('main', (tx) => {
      const numbers = 'with recursive n(i) as (select 1 union all select i + 1 from n where i < $1)';
      tx.execute('insert into pgbench_branches (bid, bbalance) values (1, 0)');
      tx.execute(`insert into pgbench_tellers (tid, bid, tbalance) ${numbers} select i, 1, 0 from n`, [TELLERS]);
      tx.execute(`insert into pgbench_accounts (aid, bid, abalance, filler) ${numbers} select i, 1, 0, '' from n`, [ACCOUNTS]);
    });
  }
}

let seed = 0;
function next(n) {
  seed = (seed * 1103515245 + 12345 + vu.id()) % 2147483648;
  return seed % n;
}

export default function () {
  const aid = next(ACCOUNTS) + 1;
  const tid = next(TELLERS) + 1;
  const delta = next(10001) - 5000;
  const balance = sql.transaction('main', (tx) => {
    tx.execute('update pgbench_accounts set abalance = abalance + $1 where aid = $2', [delta, aid]);
    const rows = tx.query('select abalance from pgbench_accounts where aid = $1', [aid]);
    tx.execute('update pgbench_tellers set tbalance = tbalance + $1 where tid = $2', [delta, tid]);
    tx.execute('update pgbench_branches set bbalance = bbalance + $1 where bid = 1', [delta]);
    tx.execute(
      'insert into pgbench_history (tid, bid, aid, delta, mtime) values ($1, 1, $2, $3, current_timestamp)',
      [tid, aid, delta],
      { name: 'history' },
    );
    return rows[0].abalance;
  });
  check('balance read back', typeof balance === 'number');
  try {
    sql.transaction('main', (tx) => {
      tx.execute('insert into pgbench_history (tid, bid, aid, delta) values (0, 1, 1, 1000000)');
      tx.execute('insert into pgbench_branches (bid, bbalance) values (1, 0)'); // bid 1 exists
    });
  } catch (error) {
    check('constraint violation rolled back', error instanceof SqlError && error.kind === 'constraint-violation');
  }
  try {
    sql.query('nope', 'select 1');
  } catch (error) {
    check('unknown datasource named', error.kind === 'unknown-datasource' && error.message.includes('main'));
  }
}
