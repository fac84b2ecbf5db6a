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
    values.iter().zip(columns).try_for_each(|(v, i)| check_column(dialect, meta, i, v))
}

/// Checks that `dialect` can store `value` in column `index`; the error names the field.
fn check_column(dialect: Dialect, meta: &EntityMeta, index: usize, value: &Value) -> Result<()> {
    dialect.check_value(value).map_err(|e| e.context(format_args!("{}.{}", meta.name, meta.columns[index].field)))
}

/// One statement of [`Conn::insert_many`]: the values it inserts and whether their keys are
/// generated.
struct InsertBatch {
    rows: std::ops::Range<usize>,
    generated_key: bool,
}

/// Splits `objs` into runs of generated and given keys, each cut at the dialect's bind limit.
fn insert_batches<E: Entity>(objs: &[E], dialect: Dialect) -> Vec<InsertBatch> {
    let meta = E::meta();
    let has_auto = meta.auto_key().is_some();
    let most = |generated_key| crud::insert_batch_rows(meta, dialect, generated_key);
    let (most_generated, most_given) = (most(true), most(false));
    let mut batches: Vec<InsertBatch> = Vec::new();
    for (i, obj) in objs.iter().enumerate() {
        let generated_key = has_auto && obj.key_is_unset();
        let limit = if generated_key { most_generated } else { most_given };
        match batches.last_mut() {
            Some(b) if b.generated_key == generated_key && b.rows.len() < limit => b.rows.end = i + 1,
            _ => batches.push(InsertBatch { rows: i..i + 1, generated_key }),
        }
    }
    batches
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

    /// Inserts every value of `objs` with multi-row `INSERT`s, as few as the dialect's bind
    /// limit allows (32766 binds on SQLite, 65535 on PostgreSQL and MariaDB), and stores each
    /// key the database generated in its value. Values whose auto-increment key is zero get a
    /// generated key, read back with `RETURNING` in the order of the rows (see
    /// [`crud::insert_many`]); values with a given key are inserted with it; a run of each kind
    /// is its own statement. An empty slice sends nothing. When it takes several statements
    /// outside a transaction they run in one, so either every value is inserted or none.
    ///
    /// ```text
    /// INSERT INTO "product" ("name", "price") VALUES (?, ?), (?, ?) RETURNING "id"   -- SQLite
    /// INSERT INTO "product" ("name", "price") VALUES ($1, $2), ($3, $4) RETURNING "id"   -- PostgreSQL
    /// INSERT INTO `product` (`name`, `price`) VALUES (?, ?), (?, ?) RETURNING `id`   -- MariaDB
    /// ```
    pub async fn insert_many<E: Entity>(&mut self, objs: &mut [E]) -> Result<()> {
        self.insert_batches(objs).await.map(drop)
    }

    /// [`Conn::insert_many`], answering the number of statements it sent.
    pub(crate) async fn insert_batches<E: Entity>(&mut self, objs: &mut [E]) -> Result<u64> {
        let batches = insert_batches(objs, self.dialect());
        let own_transaction = batches.len() > 1 && !self.in_transaction();
        if own_transaction {
            self.begin().await?;
        }
        let mut sent = 0;
        let mut r = Ok(());
        for batch in &batches {
            r = self.insert_batch(&mut objs[batch.rows.clone()], batch.generated_key).await;
            if r.is_err() {
                break;
            }
            sent += 1;
        }
        if own_transaction {
            r = match r {
                Ok(()) => self.commit().await,
                // The insert's error is the one to report; a failed ROLLBACK leaves the
                // connection marked, so it is not reused with the transaction open.
                Err(e) => self.rollback().await.and(Err(e)),
            };
        }
        r.map(|()| sent)
    }

    /// One multi-row `INSERT` of `objs`, all with generated keys or all with given ones.
    async fn insert_batch<E: Entity>(&mut self, objs: &mut [E], generated_key: bool) -> Result<()> {
        let meta = E::meta();
        let dialect = self.dialect();
        let columns: Vec<usize> =
            (0..meta.columns.len()).filter(|&i| !(generated_key && meta.columns[i].auto)).collect();
        let mut binds = Vec::with_capacity(columns.len() * objs.len());
        for obj in objs.iter() {
            for &i in &columns {
                let v = obj.column_value_at(i)?;
                check_column(dialect, meta, i, &v)?;
                binds.push(v);
            }
        }
        let sql = crud::insert_many(meta, dialect, generated_key, objs.len());
        if !generated_key {
            return self.execute_checked(&sql, &binds).await.map(drop);
        }
        let keys = self.insert_returning(&sql, &binds).await?;
        if keys.len() != objs.len() {
            return Err(Error::internal(format!(
                "an INSERT of {} rows into `{}` returned {} generated keys",
                objs.len(),
                meta.table,
                keys.len()
            )));
        }
        for (obj, key) in objs.iter_mut().zip(keys) {
            obj.set_generated_key(key)?;
        }
        Ok(())
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
