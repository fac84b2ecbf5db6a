//! What `#[derive(Entity)]` implements: the traits [`Entity`], [`Key`] and [`Hooks`], the
//! functions its generated code calls (`to_dict` and `Serialize` are `dict.rs`'s), and the
//! link-time registry of entities. The metadata it
//! emits lives in `entity/` (`meta.rs`, `column.rs`, `row_fns.rs`) with the pairing of relations
//! (`relation.rs`); none of it knows the session.

pub(crate) mod column;
pub(crate) mod meta;
pub(crate) mod relation;
pub(crate) mod row_fns;

pub use column::{ColumnMeta, CompositeMeta, Limit};
pub use meta::{CachedStatement, EntityMeta, StatementCache};

use crate::error::{Error, Result};
use crate::map_key::MapKey;
use crate::value::{FromRow, RowRead, SqlField, ToValue, Value, kind_of, truncate_micros};

/// Lifecycle hooks of an entity in a session, called during a flush (PonyORM's `before_insert`
/// and friends, plus `after_load`). Every method does nothing by default; declare the entity with
/// `#[orm(hooks)]` and implement the ones you need. An error from a hook aborts the flush, and
/// the session rolls back.
///
/// A hook cannot use its session, where PonyORM lets it query: hooks are synchronous and run
/// inside the session's flush (`after_load` while a row loads), so a query there would first
/// have to flush what is being flushed. A session call from a hook (`current()`,
/// `current_async()`) fails with [`ErrorKind::Config`](crate::ErrorKind::Config) saying so, in
/// both facades; read what the hook needs in the session body, before the write.
///
/// ```text
/// #[derive(Entity)]
/// #[orm(hooks)]
/// struct Post { #[pk] id: i64, title: String, slug: String }
///
/// impl nextorm::Hooks for Post {
///     fn before_insert(&mut self) -> nextorm::Result<()> {
///         self.slug = self.title.to_lowercase().replace(' ', "-");
///         Ok(())
///     }
/// }
/// ```
pub trait Hooks {
    /// Before the object is inserted; it may change the object.
    fn before_insert(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the insert; a generated key is set by then.
    fn after_insert(&self) -> Result<()> {
        Ok(())
    }
    /// Before a changed object is updated; it may change the object further.
    fn before_update(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the update.
    fn after_update(&self) -> Result<()> {
        Ok(())
    }
    /// Before the row is deleted.
    fn before_delete(&self) -> Result<()> {
        Ok(())
    }
    /// After the delete.
    fn after_delete(&self) -> Result<()> {
        Ok(())
    }
    /// When the object is loaded into a session.
    fn after_load(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A mapped entity. Implemented by `#[derive(Entity)]`; not meant to be implemented by hand.
pub trait Entity: FromRow + Hooks + Sized + Send + Sync + 'static {
    /// The primary key: a scalar, or a tuple for a composite key.
    type Key: Key;

    /// Whether the entity implements its own [`Hooks`] (`#[orm(hooks)]`). A session then records
    /// a loaded row's values before `after_load` may change the object.
    const CUSTOM_HOOKS: bool = false;

    /// The entity's metadata.
    fn meta() -> &'static EntityMeta;

    /// Decodes the entity from `row`, reading its columns in order from `offset`.
    fn from_row_at(row: &dyn RowRead, offset: usize) -> Result<Self>;

    /// The values of every column in declaration order, checked against the column
    /// (`max_len`, decimal precision) and truncated to microsecond precision.
    fn column_values(&self) -> Result<Vec<Value>>;

    /// The value of column `index`, as [`Entity::column_values`] has it.
    fn column_value_at(&self, index: usize) -> Result<Value>;

    /// The value of column `index` as the identity map keys it, `None` for `NULL` or a value
    /// that cannot be sent: what the members' index groups a reference column by. The derive
    /// reads a `Single` field's key directly, without the column's checks and conversions.
    fn column_map_key_at(&self, index: usize) -> Option<MapKey> {
        self.column_value_at(index).ok().filter(|v| !v.is_null()).map(|v| MapKey::of_one(&v))
    }

    /// Decodes column `index` alone from `row` at `idx` into its field: a `lazy` column loaded,
    /// a `volatile` one read again.
    fn decode_column(&mut self, index: usize, row: &dyn RowRead, idx: usize) -> Result<()>;

    /// The session objects this value's `Single` fields follow: (column index, address; see
    /// `Handle::addr` in [`crate::session`]), for ordering inserts and finding collection members.
    fn referenced_objects(&self, out: &mut Vec<(usize, usize)>);

    /// Sets the optional `Single` in column `index` to `None` (a delete rule setting it null).
    fn clear_reference(&mut self, index: usize) -> Result<()>;

    /// Points the `Single` in column `index` at `target`, a `Single` of its entity made from the
    /// target's handle before this object is locked (adding this object to a collection of
    /// `target`; the target may be this very object).
    fn set_reference(&mut self, index: usize, target: &dyn std::any::Any) -> Result<()>;

    /// The primary key.
    fn key(&self) -> Self::Key;

    /// Whether the auto-increment key is still zero, so the database should generate it.
    fn key_is_unset(&self) -> bool;

    /// Stores the key the database generated.
    fn set_generated_key(&mut self, key: i64) -> Result<()>;
}

/// A primary-key value: a scalar or a tuple of scalars.
pub trait Key {
    /// The value kind of a one-column key (a composite key has none of its own: `Int`).
    const KIND: crate::value::Kind = crate::value::Kind::Int;
    /// The key's column values, in key order.
    fn key_values(&self) -> Result<Vec<Value>>;

    /// The key as the identity map looks it up.
    fn map_key(&self) -> Result<MapKey> {
        Ok(MapKey::of(&self.key_values()?))
    }

    /// The value of a one-column key; `None` for a key of several columns.
    fn single_value(&self) -> Result<Option<Value>> {
        let mut values = self.key_values()?;
        Ok(if values.len() == 1 { values.pop() } else { None })
    }
}

macro_rules! scalar_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            const KIND: crate::value::Kind = kind_of(<$t as SqlField>::COLUMN_TYPE);
            fn key_values(&self) -> Result<Vec<Value>> {
                Ok(vec![self.to_value()?])
            }
            #[inline]
            fn map_key(&self) -> Result<MapKey> {
                // Inline to the end: the `Value` of an integer type folds away (read for every
                // row a session loads).
                Ok(MapKey::of_one(&self.to_value()?))
            }
            fn single_value(&self) -> Result<Option<Value>> {
                self.to_value().map(Some)
            }
        }
    )*};
}
crate::value::scalar_types!(scalar_key);

impl Key for &str {
    const KIND: crate::value::Kind = crate::value::Kind::Text;
    fn key_values(&self) -> Result<Vec<Value>> {
        Ok(vec![Value::Text((*self).to_owned())])
    }
}

macro_rules! tuple_key {
    ($($t:ident $i:tt),+) => {
        impl<$($t: ToValue),+> Key for ($($t,)+) {
            fn key_values(&self) -> Result<Vec<Value>> {
                Ok(vec![$(self.$i.to_value()?),+])
            }
        }
    };
}
tuple_key!(A 0, B 1);
tuple_key!(A 0, B 1, C 2);
tuple_key!(A 0, B 1, C 2, D 3);

/// A link-time registration of an entity, emitted by the derive.
pub struct EntityRegistration(pub fn() -> &'static EntityMeta);

inventory::collect!(EntityRegistration);

/// Every entity linked into the program, ordered by table name.
pub fn registered_entities() -> Vec<&'static EntityMeta> {
    let mut all: Vec<&'static EntityMeta> =
        inventory::iter::<EntityRegistration>.into_iter().map(|r| (r.0)()).collect();
    // Two entities on one table stay in the list: mapping them reports the clash.
    all.sort_by_key(|m| m.table);
    all
}

/// The value of one field, checked against its column. Called by the derive's `column_values`.
pub fn column_value<T: ToValue + ?Sized>(meta: &EntityMeta, index: usize, value: &T) -> Result<Value> {
    let col = &meta.columns[index];
    let context = || format!("{}.{}", meta.name, col.field);
    let v = value.to_value().map_err(|e| e.context(context()))?;
    match &v {
        Value::Text(s) => {
            // Counting characters is needed only when the bytes alone could exceed the limit.
            if let Some(max) = col.max_len.filter(|&m| s.len() > m as usize) {
                let len = s.chars().count();
                if len > max as usize {
                    return Err(Error::invalid_value(format!("the string is {len} characters long; max_len is {max}"))
                        .context(context()));
                }
            }
        }
        Value::Decimal(d) => {
            if let Some((precision, scale)) = col.decimal {
                check_decimal(*d, precision, scale).map_err(|e| e.context(context()))?;
            }
            check_limits(col, &v).map_err(|e| e.context(context()))?;
        }
        Value::Int(_) | Value::Float(_) => check_limits(col, &v).map_err(|e| e.context(context()))?,
        Value::DateTime(t) => return Ok(Value::DateTime(truncate_micros(*t))),
        Value::Timestamp(t) => return Ok(Value::Timestamp(truncate_micros(t.naive_utc()).and_utc())),
        _ => {}
    }
    Ok(v)
}

/// Refuses a number outside the column's `min`/`max`, before it is sent.
fn check_limits(col: &ColumnMeta, v: &Value) -> Result<()> {
    use std::cmp::Ordering;
    // How `v` compares with a bound; `None` where it cannot be compared (NaN).
    let compare = |limit: Limit| -> Option<Ordering> {
        match (v, limit) {
            (Value::Int(i), Limit::Int(l)) => Some(i.cmp(&l)),
            (Value::Int(i), Limit::Float(l)) => (*i as f64).partial_cmp(&l),
            (Value::Float(x), Limit::Int(l)) => x.partial_cmp(&(l as f64)),
            (Value::Float(x), Limit::Float(l)) => x.partial_cmp(&l),
            (Value::Decimal(d), Limit::Int(l)) => Some(d.cmp(&rust_decimal::Decimal::from(l))),
            (Value::Decimal(d), Limit::Float(l)) => rust_decimal::Decimal::try_from(l).ok().map(|l| d.cmp(&l)),
            _ => Some(Ordering::Equal),
        }
    };
    // NaN is outside every range.
    if let Some(min) = col.min
        && matches!(compare(min), Some(Ordering::Less) | None)
    {
        return Err(Error::invalid_value(format!("{} is below min {min}", number_text(v))));
    }
    if let Some(max) = col.max
        && matches!(compare(max), Some(Ordering::Greater) | None)
    {
        return Err(Error::invalid_value(format!("{} is above max {max}", number_text(v))));
    }
    Ok(())
}

/// A number value as a message shows it.
fn number_text(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Decimal(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// Decodes one field at `row` column `idx`, naming the entity and field in the error. Called by
/// the derive's `from_row_at`.
pub fn decode_field<T: crate::value::FromSql>(
    meta: &EntityMeta,
    index: usize,
    row: &dyn RowRead,
    idx: usize,
) -> Result<T> {
    T::from_sql(row, idx).map_err(|e| {
        let col = &meta.columns[index];
        e.context(format_args!("{}.{} (column `{}`)", meta.name, col.field, col.name))
    })
}

/// [`decode_field`] of a `lazy` field in `from_row_at`: a session's `SELECT` sends `NULL` in
/// place of the column (see [`crate::crud::select_by_key_leaving_lazy`]), which decodes as the
/// field's default, never read (the session marks the column not loaded). Called by the derive.
pub fn decode_lazy_field<T: crate::value::FromSql + Default>(
    meta: &EntityMeta,
    index: usize,
    row: &dyn RowRead,
    idx: usize,
) -> Result<T> {
    if row.is_null(idx)? { Ok(T::default()) } else { decode_field(meta, index, row, idx) }
}

/// Converts a generated key to the key field's type. Called by the derive.
pub fn convert_key<T: TryFrom<i64>>(meta: &EntityMeta, key: i64) -> Result<T> {
    T::try_from(key)
        .map_err(|_| Error::decode(format!("the generated key {key} does not fit the key field of `{}`", meta.name)))
}

fn check_decimal(d: rust_decimal::Decimal, precision: u32, scale: u32) -> Result<()> {
    let normalized = d.normalize();
    if normalized.scale() > scale {
        return Err(Error::invalid_value(format!(
            "{d} has {} digits after the point; the column keeps {scale}",
            normalized.scale()
        )));
    }
    let integer_digits = normalized.trunc().abs().to_string().trim_start_matches('0').len() as u32;
    if integer_digits > precision.saturating_sub(scale) {
        return Err(Error::invalid_value(format!(
            "{d} has {integer_digits} digits before the point; DECIMAL({precision}, {scale}) keeps {}",
            precision - scale
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn decimal_precision_and_scale_are_checked() {
        assert!(check_decimal(Decimal::from_str("12345.67").unwrap(), 7, 2).is_ok());
        assert!(check_decimal(Decimal::from_str("12345.670").unwrap(), 7, 2).is_ok());
        assert!(check_decimal(Decimal::from_str("123456.7").unwrap(), 7, 2).is_err());
        assert!(check_decimal(Decimal::from_str("1.234").unwrap(), 7, 2).is_err());
        assert!(check_decimal(Decimal::from_str("0.5").unwrap(), 2, 2).is_ok());
    }
}
