//! Reads a live database's schema: runs the dialect's catalog queries on a connection and hands
//! the rows to core ([`LiveSchema::from_catalog`]), which knows what they mean.

use crate::driver::Conn;
use nextorm_core::Result;
use nextorm_core::migrate::{CatalogRow, CatalogRows, LiveSchema, catalog_queries};

/// The schema of the database `conn` is connected to (its current schema on PostgreSQL).
pub(crate) async fn live_schema(conn: &mut Conn) -> Result<LiveSchema> {
    let dialect = conn.dialect();
    let queries = catalog_queries(dialect);
    let rows = CatalogRows {
        columns: fetch_text(conn, queries.columns).await?,
        indexes: fetch_text(conn, queries.indexes).await?,
        foreign_keys: fetch_text(conn, queries.foreign_keys).await?,
    };
    LiveSchema::from_catalog(dialect, &rows)
}

/// Every row of `sql`, each cell as text (the catalog queries return nothing else).
async fn fetch_text(conn: &mut Conn, sql: &str) -> Result<Vec<CatalogRow>> {
    let mut rows = Vec::new();
    conn.fetch_sql(sql, &[], &mut |row| {
        let cells = (0..row.column_count())
            .map(|i| if row.is_null(i)? { Ok(None) } else { row.get_string(i).map(Some) })
            .collect::<Result<CatalogRow>>()?;
        rows.push(cells);
        Ok(())
    })
    .await?;
    Ok(rows)
}
