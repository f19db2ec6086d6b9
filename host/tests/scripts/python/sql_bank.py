# examples/rust/sql-bank in Python (vespid.sql): pgbench's TPC-B-like
# transaction on pgbench's tables, which setup creates and seeds at scale 1
# (accounts cut to 1,000 for speed). Also: a constraint violation raises
# SqlError with its kind and rolls the `with` block back, and an unknown
# datasource names the ones there are.
import random

from vespid import check, sql, vu

ACCOUNTS, TELLERS = 1000, 10
DDL = [
    "create table if not exists pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
    "create table if not exists pgbench_tellers (tid int not null primary key, bid int, tbalance int, filler char(84))",
    "create table if not exists pgbench_accounts (aid int not null primary key, bid int, abalance int, filler char(84))",
    "create table if not exists pgbench_branches (bid int not null primary key, bbalance int, filler char(88))",
]


def setup():
    for ddl in DDL:
        sql.execute("main", ddl)
    if sql.query("main", "select count(*) as n from pgbench_branches")[0]["n"] == 0:
        with sql.transaction("main") as tx:
            tx.execute("insert into pgbench_branches (bid, bbalance) values (1, 0)")
            numbers = "with recursive n(i) as (select 1 union all select i + 1 from n where i < $1)"
            tx.execute(f"insert into pgbench_tellers (tid, bid, tbalance) {numbers} select i, 1, 0 from n", [TELLERS])
            tx.execute(f"insert into pgbench_accounts (aid, bid, abalance, filler) {numbers} select i, 1, 0, '' from n", [ACCOUNTS])
    return None


def init(data):
    random.seed(vu.id())


def default(data):
    aid, tid, delta = random.randint(1, ACCOUNTS), random.randint(1, TELLERS), random.randint(-5000, 5000)
    with sql.transaction("main") as tx:
        tx.execute("update pgbench_accounts set abalance = abalance + $1 where aid = $2", [delta, aid])
        balance = tx.query("select abalance from pgbench_accounts where aid = $1", [aid])[0]["abalance"]
        tx.execute("update pgbench_tellers set tbalance = tbalance + $1 where tid = $2", [delta, tid])
        tx.execute("update pgbench_branches set bbalance = bbalance + $1 where bid = 1", [delta])
        tx.execute(
            "insert into pgbench_history (tid, bid, aid, delta, mtime) values ($1, 1, $2, $3, current_timestamp)",
            [tid, aid, delta],
        )
    check("balance read back", isinstance(balance, int))
    try:
        with sql.transaction("main") as tx:
            tx.execute("insert into pgbench_history (tid, bid, aid, delta) values (0, 1, 1, 1000000)")
            tx.execute("insert into pgbench_branches (bid, bbalance) values (1, 0)")  # bid 1 exists
    except sql.SqlError as error:
        check("constraint violation rolled back", error.kind == "constraint-violation")
    try:
        sql.query("nope", "select 1")
    except sql.SqlError as error:
        check("unknown datasource named", error.kind == "unknown-datasource" and "main" in str(error))
