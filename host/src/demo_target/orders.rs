//! `POST /orders` on a demo target started with `--database sqlite:PATH`:
//! the application side of the mixed HTTP + database example, which
//! creates an order through the API and then checks the row in the
//! database itself. The table is `orders (id, owner, item, quantity)`.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// The orders database, created with its table if missing.
pub async fn open(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    sqlx::query(
        "create table if not exists orders (id integer primary key autoincrement, owner text not null, \
         item text not null, quantity integer not null)",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

/// Stores an order of `owner`'s and returns its id.
pub async fn create(pool: &SqlitePool, owner: &str, item: &str, quantity: i64) -> Result<i64, sqlx::Error> {
    let done = sqlx::query("insert into orders (owner, item, quantity) values ($1, $2, $3)")
        .bind(owner)
        .bind(item)
        .bind(quantity)
        .execute(pool)
        .await?;
    Ok(done.last_insert_rowid())
}
