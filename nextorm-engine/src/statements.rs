//! The one implementation of what both facades do: entity CRUD, raw SQL and schema statements,
//! as `async fn`s on a [`Conn`].

use crate::driver::Conn;
use nextorm_core::query::Stmt;
use nextorm_core::{
    Dialect, Entity, EntityMeta, Error, ErrorKind, FromRow, IntoParams, Key, Result, RowRead, Value, crud, rawsql,
    schema,
};

/// Whether `generate_mapping` also creates the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateTables {
    /// Create missing tables and indexes (`IF NOT EXISTS`), then check that every table has the
    /// columns its entity maps (a table made by an older version of the program may not).
    Yes,
    /// Only check that the entities map onto the dialect.
    No,
    /// Check that the entities map onto the dialect and that the database's tables are the
    /// entities' (`nextorm check`): columns, types, nullability, keys, indexes and foreign keys.
    /// Every difference is listed in one [`ErrorKind::Mapping`] error; nothing is changed.
    Check,
}

/// Refuses transaction control in raw SQL: a `BEGIN` the pool does not know about would leak an
/// open transaction into the next user of the connection. Savepoints too: on SQLite a
/// `SAVEPOINT` outside a transaction begins one and `RELEASE` commits it, and nested
/// `transaction()`s number their savepoints themselves.
fn reject_transaction_control(sql: &str) -> Result<()> {
    let first = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    if ["BEGIN", "START", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE"]
        .iter()
        .any(|w| first.eq_ignore_ascii_case(w))
    {
        return Err(Error::config(format!(
            "`{first}` is not allowed in raw SQL: use `transaction()`, which manages the transaction safely"
        )));
    }
    Ok(())
}

fn checked(dialect: Dialect, meta: &EntityMeta, values: &[Value], columns: impl Iterator<Item = usize>) -> Result<()> {
    for (v, i) in values.iter().zip(columns) {
        dialect.check_value(v).map_err(|e| e.context(format_args!("{}.{}", meta.name, meta.columns[i].field)))?;
    }
    Ok(())
}

impl Conn {
    /// [`Conn::insert`], returning the value (the `Executor::create_object` of connections).
    pub async fn create_object<E: Entity>(&mut self, mut value: E) -> Result<E> {
        self.insert(&mut value).await?;
        Ok(value)
    }

    /// Inserts `obj`. When its auto-increment key is zero the database generates the key, which
    /// is then stored in `obj`.
    ///
    /// ```text
    /// INSERT INTO "product" ("name", "price") VALUES (?, ?)               -- SQLite, MariaDB
    /// INSERT INTO "product" ("name", "price") VALUES ($1, $2) RETURNING "id"   -- PostgreSQL
    /// ```
    pub async fn insert<E: Entity>(&mut self, obj: &mut E) -> Result<()> {
        let meta = E::meta();
        let dialect = self.dialect();
        let mut values = obj.column_values()?;
        let auto = meta.columns.iter().position(|c| c.auto);
        match auto {
            Some(i) if obj.key_is_unset() => {
                values.remove(i);
                checked(dialect, meta, &values, (0..meta.columns.len()).filter(|&c| c != i))?;
                let key = self.insert_checked(crud::insert(meta, dialect, true), &values).await?;
                obj.set_generated_key(key)
            }
            _ => {
                checked(dialect, meta, &values, 0..meta.columns.len())?;
                self.execute_checked(crud::insert(meta, dialect, false), &values).await.map(drop)
            }
        }
    }

    /// The entity with this primary key, if there is one.
    ///
    /// ```text
    /// SELECT "id", "name", "price" FROM "product" WHERE "id" = ?
    /// ```
    pub async fn find<E: Entity>(&mut self, key: &E::Key) -> Result<Option<E>> {
        let meta = E::meta();
        let key = key.key_values()?;
        let sql = crud::select_by_key(meta, self.dialect());
        let mut found = None;
        self.fetch_sql(sql, &key, &mut |row| {
            found = Some(E::from_row_at(row, 0)?);
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// The entity with this primary key; [`ErrorKind::NotFound`] when there is none (Pony's `E[key]`).
    pub async fn by_pk<E: Entity>(&mut self, key: &E::Key) -> Result<E> {
        match self.find::<E>(key).await? {
            Some(e) => Ok(e),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("{} was not found", E::meta().describe_key(&key.key_values()?)),
            )),
        }
    }

    /// Every row of the entity's table.
    ///
    /// ```text
    /// SELECT "id", "name", "price" FROM "product"
    /// ```
    pub async fn all<E: Entity>(&mut self) -> Result<Vec<E>> {
        let sql = crud::select_all(E::meta(), self.dialect());
        let mut out = Vec::new();
        self.fetch_sql(sql, &[], &mut |row| {
            out.push(E::from_row_at(row, 0)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Writes every non-key column of `obj`; [`ErrorKind::NotFound`] when no row has its key.
    ///
    /// ```text
    /// UPDATE "product" SET "name" = ?, "price" = ? WHERE "id" = ?
    /// ```
    pub async fn update<E: Entity>(&mut self, obj: &E) -> Result<()> {
        let meta = E::meta();
        let dialect = self.dialect();
        let values = obj.column_values()?;
        checked(dialect, meta, &values, 0..meta.columns.len())?;
        // Non-key columns in declaration order, then the key columns in key order.
        let mut slots: Vec<Option<Value>> = values.into_iter().map(Some).collect();
        let mut binds: Vec<Value> =
            meta.columns.iter().zip(&mut slots).filter(|(c, _)| !c.primary_key).filter_map(|(_, v)| v.take()).collect();
        binds.extend(meta.primary_key.iter().filter_map(|&i| slots[i].take()));
        let n = self.execute_checked(crud::update_by_key(meta, dialect), &binds).await?;
        if n == 0 {
            let key = obj.key().key_values()?;
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{} was not found for UPDATE", meta.describe_key(&key)),
            ));
        }
        Ok(())
    }

    /// Deletes the row of `obj`; [`ErrorKind::NotFound`] when it is already gone.
    ///
    /// ```text
    /// DELETE FROM "product" WHERE "id" = ?
    /// ```
    pub async fn delete<E: Entity>(&mut self, obj: &E) -> Result<()> {
        let key = obj.key();
        if self.delete_by_pk::<E>(&key).await? {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::NotFound,
                format!("{} was not found for DELETE", E::meta().describe_key(&key.key_values()?)),
            ))
        }
    }

    /// Deletes the row with this key; whether there was one.
    pub async fn delete_by_pk<E: Entity>(&mut self, key: &E::Key) -> Result<bool> {
        let key = key.key_values()?;
        let n = self.execute_sql(crud::delete_by_key(E::meta(), self.dialect()), &key).await?;
        Ok(n > 0)
    }

    /// Runs raw SQL with `?` placeholders (on every dialect) and returns the rows affected.
    pub async fn execute(&mut self, sql: &str, params: impl IntoParams) -> Result<u64> {
        reject_transaction_control(sql)?;
        let binds = params.into_params()?;
        let sql = rawsql::prepare(sql, self.dialect(), binds.len())?;
        self.execute_sql(&sql, &binds).await
    }

    /// Runs a raw query with `?` placeholders and decodes every row.
    pub async fn select<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        let binds = params.into_params()?;
        let sql = rawsql::prepare(sql, self.dialect(), binds.len())?;
        let mut out = Vec::new();
        self.fetch_sql(&sql, &binds, &mut |row| {
            out.push(R::from_row(row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Runs a raw query that must return exactly one row: [`ErrorKind::NotFound`] for none,
    /// [`ErrorKind::SeveralFound`] for more.
    pub async fn get<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<R> {
        self.get_optional(sql, params)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "the query returned no row"))
    }

    /// Runs a raw query that returns at most one row: [`ErrorKind::SeveralFound`] for more.
    pub async fn get_optional<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        let binds = params.into_params()?;
        let sql = rawsql::prepare(sql, self.dialect(), binds.len())?;
        let mut found = None;
        self.fetch_sql(&sql, &binds, &mut |row| {
            if found.is_some() {
                return Err(Error::new(ErrorKind::SeveralFound, "the query returned more than one row"));
            }
            found = Some(R::from_row(row)?);
            Ok(())
        })
        .await?;
        Ok(found)
    }

    /// Runs a rendered query, decodes every row with `decode` and hands the rows to `finish`.
    pub async fn fetch_stmt<R: Send, T>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        finish: fn(Vec<R>) -> Result<T>,
    ) -> Result<T> {
        let mut rows = Vec::new();
        self.fetch_sql(&stmt.text, &stmt.binds, &mut |row| {
            rows.push(decode(row, 0)?);
            Ok(())
        })
        .await?;
        finish(rows)
    }

    /// Runs a rendered query and hands each decoded row to `each` as it arrives.
    pub async fn for_each_stmt<R, F: FnMut(R) -> Result<()> + Send>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        mut each: F,
    ) -> Result<()> {
        self.fetch_sql(&stmt.text, &stmt.binds, &mut |row| each(decode(row, 0)?)).await
    }

    /// Runs a rendered statement; the rows it affected.
    pub async fn execute_stmt(&mut self, stmt: &Stmt) -> Result<u64> {
        self.execute_sql(&stmt.text, &stmt.binds).await
    }

    /// Creates the tables and indexes of `entities` that do not exist yet.
    pub async fn create_tables(&mut self, entities: &[&'static EntityMeta]) -> Result<()> {
        for stmt in schema::create_statements(entities, self.dialect())? {
            self.batch(&stmt).await?;
        }
        Ok(())
    }

    /// Checks that the table of each entity has every column the entity maps, by naming them in
    /// a query that reads no row ([`schema::column_probe`]). A missing column is a mapping error
    /// naming the entity, the table and the column.
    pub async fn check_tables(&mut self, entities: &[&'static EntityMeta]) -> Result<()> {
        let dialect = self.dialect();
        for meta in entities {
            // Unprepared (`batch`): the probes must not fill the statement cache.
            let Err(e) = self.batch(&schema::column_probe(meta, None, dialect)).await else {
                continue;
            };
            // Probed one by one, the columns tell a missing column from any other failure (a
            // missing table, a lost connection), which is returned as it is.
            let mut missing = None;
            let mut readable = false;
            for (i, col) in meta.columns.iter().enumerate() {
                match self.batch(&schema::column_probe(meta, Some(i), dialect)).await {
                    Ok(()) => readable = true,
                    Err(_) => missing = missing.or(Some(col)),
                }
            }
            return match missing {
                Some(col) if readable => Err(Error::mapping(format!(
                    "the table `{}` has no column `{}` for {}.{}: add the column (or migrate) before using the entity",
                    meta.table, col.name, meta.name, col.field
                ))),
                _ => Err(e),
            };
        }
        Ok(())
    }

    /// Drops the tables of `entities`, with their data.
    pub async fn drop_tables(&mut self, entities: &[&'static EntityMeta]) -> Result<()> {
        for stmt in schema::drop_statements(entities, self.dialect()) {
            self.batch(&stmt).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control_is_refused_in_raw_sql() {
        assert!(reject_transaction_control("  begin").is_err());
        assert!(reject_transaction_control("COMMIT;").is_err());
        assert!(reject_transaction_control("start transaction").is_err());
        assert!(reject_transaction_control("SAVEPOINT nextorm_sp_1").is_err());
        assert!(reject_transaction_control("release savepoint nextorm_sp_1").is_err());
        assert!(reject_transaction_control("SELECT 1").is_ok());
        assert!(reject_transaction_control("UPDATE t SET ending = 1").is_ok());
    }
}
