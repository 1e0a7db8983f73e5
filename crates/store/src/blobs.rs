//! Files kept once by their SHA-256 (the `blobs` table), for the registers' evidence and
//! documents: one writer and one reader for every row that names a file.

use crate::{Result, Store};
use sha2::{Digest, Sha256};

/// Keeps `bytes` (once, whoever else kept the same): their SHA-256.
pub(crate) async fn put(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    bytes: &[u8],
) -> Result<String> {
    let sha = hex::encode(Sha256::digest(bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO blobs (sha256, content, size) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&sha)
    .bind(bytes.to_vec())
    .bind(size)
    .execute(&mut **tx)
    .await?;
    Ok(sha)
}

/// The file a row names, by `sql` selecting (name, type, content) for the row `id`.
pub(crate) async fn file_of(
    store: &Store,
    sql: &'static str,
    id: i64,
) -> Result<Option<crate::training::Evidence>> {
    type Row = (Option<String>, Option<String>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *store.read().await?)
        .await?;
    Ok(match row {
        Some((Some(name), Some(kind), Some(bytes))) => Some((name, kind, bytes)),
        _ => None,
    })
}
