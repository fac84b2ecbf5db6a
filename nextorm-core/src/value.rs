//! Values sent to and read from the database, and the traits that map Rust types onto them.

use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The storage kind of a value: what a `NULL` of this value would be typed as.
///
/// PostgreSQL types every bind parameter, so even a `NULL` carries its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `BOOLEAN`.
    Bool,
    /// Any integer, sent as a 64-bit integer.
    Int,
    /// Any float, sent as a 64-bit float.
    Float,
    /// Text.
    Text,
    /// Bytes.
    Bytes,
    /// An exact decimal.
    Decimal,
    /// A calendar date.
    Date,
    /// A date and time without a time zone.
    DateTime,
    /// An instant in UTC.
    Timestamp,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
}

/// One value bound to a statement parameter. Values are never spliced into SQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL `NULL` of the given kind.
    Null(Kind),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// An exact decimal.
    Decimal(Decimal),
    /// A calendar date.
    Date(NaiveDate),
    /// A date and time without a time zone, microsecond precision.
    DateTime(NaiveDateTime),
    /// An instant in UTC, microsecond precision.
    Timestamp(DateTime<Utc>),
    /// A UUID.
    Uuid(Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// A list of values of one kind, bound as one array (PostgreSQL `UNNEST`).
    Array(Kind, Vec<Value>),
    /// A Rust value that could not be converted (a `u64` above `i64::MAX` in a query). It is
    /// refused with [`crate::ErrorKind::InvalidValue`] before the statement is sent.
    Invalid(String),
}

/// How a date-time is written where it is stored as text (SQLite, JSON lists of binds).
const DATETIME_TEXT: &str = "%Y-%m-%d %H:%M:%S%.6f";

impl Value {
    /// The text form of a value that a database without the type stores as text (decimals,
    /// dates, times, UUIDs and JSON on SQLite; the items of a long `IN` list's JSON bind), or
    /// `None` for values that are not stored as text. Each form sorts as its value does: decimals
    /// are canonical (equal values, equal text) and compared through nextorm's decimal functions;
    /// dates and times are fixed-width (years 0 to 9999, six fractional digits, UTC); UUIDs are
    /// lowercase, in PostgreSQL's byte order.
    pub fn stored_text(&self) -> Option<String> {
        Some(match self {
            Value::Decimal(d) => crate::sqlite_decimal::canonical_text(*d),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::DateTime(t) => t.format(DATETIME_TEXT).to_string(),
            Value::Timestamp(t) => format!("{}+00:00", t.naive_utc().format(DATETIME_TEXT)),
            Value::Uuid(u) => u.hyphenated().to_string(),
            Value::Json(j) => j.to_string(),
            _ => return None,
        })
    }

    /// The kind of this value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Null(k) => *k,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Text(_) => Kind::Text,
            Value::Bytes(_) => Kind::Bytes,
            Value::Decimal(_) => Kind::Decimal,
            Value::Date(_) => Kind::Date,
            Value::DateTime(_) => Kind::DateTime,
            Value::Timestamp(_) => Kind::Timestamp,
            Value::Uuid(_) => Kind::Uuid,
            Value::Json(_) | Value::Array(..) => Kind::Json,
            Value::Invalid(_) => Kind::Text,
        }
    }

    /// Whether this is `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null(_))
    }
}

/// The column type of an entity field, from which each dialect derives its DDL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `bool`.
    Bool,
    /// `i8`, `u8`, `i16`.
    SmallInt,
    /// `u16`, `i32`.
    Int,
    /// `u32`, `i64`, `u64` (values above `i64::MAX` are refused).
    BigInt,
    /// `f32`.
    Real,
    /// `f64`.
    Double,
    /// `String`, bounded by the column's `max_len` when it has one.
    Text,
    /// `Vec<u8>`.
    Bytes,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `chrono::NaiveDate`.
    Date,
    /// `chrono::NaiveDateTime`.
    DateTime,
    /// `chrono::DateTime<Utc>`.
    Timestamp,
    /// `uuid::Uuid`.
    Uuid,
    /// `serde_json::Value`.
    Json,
    /// A `#[derive(DbEnum)]` enum stored by its text value; the values feed a `CHECK` constraint.
    TextEnum(&'static [&'static str]),
    /// A `#[derive(DbEnum)]` enum stored by its integer value.
    IntEnum(&'static [i64]),
}

impl ColumnType {
    /// Whether `max_len` applies to this type.
    pub fn is_text(self) -> bool {
        matches!(self, ColumnType::Text)
    }

    /// Whether an auto-increment key may have this type.
    pub fn is_integer(self) -> bool {
        matches!(self, ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt)
    }
}

/// A column's type as a schema records it: a [`ColumnType`] whose enum values are owned, so a
/// schema read back from a migration file can describe it. The DDL is rendered from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// [`ColumnType::Bool`].
    Bool,
    /// [`ColumnType::SmallInt`].
    SmallInt,
    /// [`ColumnType::Int`].
    Int,
    /// [`ColumnType::BigInt`].
    BigInt,
    /// [`ColumnType::Real`].
    Real,
    /// [`ColumnType::Double`].
    Double,
    /// [`ColumnType::Text`].
    Text,
    /// [`ColumnType::Bytes`].
    Bytes,
    /// [`ColumnType::Decimal`].
    Decimal,
    /// [`ColumnType::Date`].
    Date,
    /// [`ColumnType::DateTime`].
    DateTime,
    /// [`ColumnType::Timestamp`].
    Timestamp,
    /// [`ColumnType::Uuid`].
    Uuid,
    /// [`ColumnType::Json`].
    Json,
    /// [`ColumnType::TextEnum`]: the values a `CHECK` constraint allows.
    TextEnum(Vec<String>),
    /// [`ColumnType::IntEnum`]: the values a `CHECK` constraint allows.
    IntEnum(Vec<i64>),
}

impl From<ColumnType> for DataType {
    fn from(ty: ColumnType) -> DataType {
        use ColumnType as C;
        match ty {
            C::Bool => DataType::Bool,
            C::SmallInt => DataType::SmallInt,
            C::Int => DataType::Int,
            C::BigInt => DataType::BigInt,
            C::Real => DataType::Real,
            C::Double => DataType::Double,
            C::Text => DataType::Text,
            C::Bytes => DataType::Bytes,
            C::Decimal => DataType::Decimal,
            C::Date => DataType::Date,
            C::DateTime => DataType::DateTime,
            C::Timestamp => DataType::Timestamp,
            C::Uuid => DataType::Uuid,
            C::Json => DataType::Json,
            C::TextEnum(values) => DataType::TextEnum(values.iter().map(|v| (*v).to_owned()).collect()),
            C::IntEnum(values) => DataType::IntEnum(values.to_vec()),
        }
    }
}

/// Converts a Rust value into a bind [`Value`]. Fails for values no column can hold faithfully
/// (a `u64` above `i64::MAX`).
pub trait ToValue {
    /// The value to bind.
    fn to_value(&self) -> Result<Value>;
}

/// Read access to one row of a result, implemented by each driver.
///
/// Every getter fails with [`crate::ErrorKind::Decode`] when the column is `NULL` or of an
/// incompatible type; callers test [`RowRead::is_null`] first for optional values.
#[allow(missing_docs)]
pub trait RowRead {
    /// The number of columns.
    fn column_count(&self) -> usize;
    /// The name of column `idx`, for messages.
    fn column_name(&self, idx: usize) -> String;
    /// Whether column `idx` is `NULL`.
    fn is_null(&self, idx: usize) -> Result<bool>;
    fn get_bool(&self, idx: usize) -> Result<bool>;
    /// Any integer column, widened to `i64`.
    fn get_i64(&self, idx: usize) -> Result<i64>;
    /// Any float column, widened to `f64`.
    fn get_f64(&self, idx: usize) -> Result<f64>;
    fn get_string(&self, idx: usize) -> Result<String>;
    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>>;
    fn get_decimal(&self, idx: usize) -> Result<Decimal>;
    fn get_date(&self, idx: usize) -> Result<NaiveDate>;
    fn get_datetime(&self, idx: usize) -> Result<NaiveDateTime>;
    fn get_timestamp(&self, idx: usize) -> Result<DateTime<Utc>>;
    fn get_uuid(&self, idx: usize) -> Result<Uuid>;
    fn get_json(&self, idx: usize) -> Result<serde_json::Value>;
}

/// Reads a Rust value from one column of a row.
pub trait FromSql: Sized {
    /// Decodes column `idx`. A `NULL` is an error unless `Self` is an `Option`.
    fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self>;
}

/// A Rust type that can be an entity field: it has a column type, binds and decodes.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported column type",
    label = "unsupported column type",
    note = "supported: bool, integers, f32, f64, String, Vec<u8>, Decimal, chrono dates and times, Uuid, serde_json::Value, #[derive(DbEnum)] enums, and Option of these"
)]
pub trait SqlField: ToValue + FromSql + Clone {
    /// The column type.
    const COLUMN_TYPE: ColumnType;
    /// Whether the column accepts `NULL` (true for `Option<T>`).
    const NULLABLE: bool = false;
}

/// Calls `$m!` with every scalar column type, so each impl list names them once.
macro_rules! scalar_types {
    ($m:ident) => {
        $m!(
            i8,
            u8,
            i16,
            u16,
            i32,
            u32,
            i64,
            u64,
            f32,
            f64,
            ::rust_decimal::Decimal,
            bool,
            String,
            Vec<u8>,
            ::chrono::NaiveDate,
            ::chrono::NaiveDateTime,
            ::chrono::DateTime<::chrono::Utc>,
            ::uuid::Uuid,
            ::serde_json::Value
        );
    };
}
pub(crate) use scalar_types;

/// A copy of a field's value, for the derive's session accessors.
pub fn clone_field<T: SqlField>(value: &T) -> T {
    value.clone()
}

macro_rules! scalar {
    ($ty:ty, $sql:expr, $get:ident, |$v:ident| $to:expr, |$x:ident| $from:expr) => {
        impl ToValue for $ty {
            #[inline]
            fn to_value(&self) -> Result<Value> {
                let $v = self;
                Ok($to)
            }
        }
        impl FromSql for $ty {
            fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self> {
                let $x = row.$get(idx)?;
                $from
            }
        }
        impl SqlField for $ty {
            const COLUMN_TYPE: ColumnType = $sql;
        }
    };
}

fn narrow<T: TryFrom<i64>>(v: i64, name: &str) -> Result<T> {
    T::try_from(v).map_err(|_| Error::decode(format!("integer {v} does not fit in {name}")))
}

scalar!(bool, ColumnType::Bool, get_bool, |v| Value::Bool(*v), |x| Ok(x));
scalar!(i8, ColumnType::SmallInt, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "i8"));
scalar!(u8, ColumnType::SmallInt, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "u8"));
scalar!(i16, ColumnType::SmallInt, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "i16"));
scalar!(u16, ColumnType::Int, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "u16"));
scalar!(i32, ColumnType::Int, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "i32"));
scalar!(u32, ColumnType::BigInt, get_i64, |v| Value::Int(i64::from(*v)), |x| narrow(x, "u32"));
scalar!(i64, ColumnType::BigInt, get_i64, |v| Value::Int(*v), |x| Ok(x));
scalar!(f64, ColumnType::Double, get_f64, |v| Value::Float(*v), |x| Ok(x));
scalar!(String, ColumnType::Text, get_string, |v| Value::Text(v.clone()), |x| Ok(x));
scalar!(Vec<u8>, ColumnType::Bytes, get_bytes, |v| Value::Bytes(v.clone()), |x| Ok(x));
scalar!(Decimal, ColumnType::Decimal, get_decimal, |v| Value::Decimal(*v), |x| Ok(x));
scalar!(NaiveDate, ColumnType::Date, get_date, |v| Value::Date(*v), |x| Ok(x));
scalar!(NaiveDateTime, ColumnType::DateTime, get_datetime, |v| Value::DateTime(*v), |x| Ok(x));
scalar!(DateTime<Utc>, ColumnType::Timestamp, get_timestamp, |v| Value::Timestamp(*v), |x| Ok(x));
scalar!(Uuid, ColumnType::Uuid, get_uuid, |v| Value::Uuid(*v), |x| Ok(x));
scalar!(serde_json::Value, ColumnType::Json, get_json, |v| Value::Json(v.clone()), |x| Ok(x));

impl ToValue for f32 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Float(f64::from(*self)))
    }
}
impl FromSql for f32 {
    fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self> {
        let v = row.get_f64(idx)?;
        let narrowed = v as f32;
        if f64::from(narrowed) == v || v.is_nan() {
            Ok(narrowed)
        } else {
            Err(Error::decode(format!("float {v} does not fit in f32 exactly")))
        }
    }
}
impl SqlField for f32 {
    const COLUMN_TYPE: ColumnType = ColumnType::Real;
}

impl ToValue for u64 {
    fn to_value(&self) -> Result<Value> {
        i64::try_from(*self).map(Value::Int).map_err(|_| {
            Error::invalid_value(format!("u64 {self} is above i64::MAX and cannot be stored in a BIGINT column"))
        })
    }
}
impl FromSql for u64 {
    fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self> {
        narrow(row.get_i64(idx)?, "u64")
    }
}
impl SqlField for u64 {
    const COLUMN_TYPE: ColumnType = ColumnType::BigInt;
}

impl<T: ToValue + SqlField> ToValue for Option<T> {
    fn to_value(&self) -> Result<Value> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null(kind_of(T::COLUMN_TYPE))),
        }
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self> {
        if row.is_null(idx)? { Ok(None) } else { T::from_sql(row, idx).map(Some) }
    }
}
impl<T: SqlField> SqlField for Option<T> {
    const COLUMN_TYPE: ColumnType = T::COLUMN_TYPE;
    const NULLABLE: bool = true;
}

/// The bind kind of a column type.
pub const fn kind_of(ty: ColumnType) -> Kind {
    match ty {
        ColumnType::Bool => Kind::Bool,
        ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt | ColumnType::IntEnum(_) => Kind::Int,
        ColumnType::Real | ColumnType::Double => Kind::Float,
        ColumnType::Text | ColumnType::TextEnum(_) => Kind::Text,
        ColumnType::Bytes => Kind::Bytes,
        ColumnType::Decimal => Kind::Decimal,
        ColumnType::Date => Kind::Date,
        ColumnType::DateTime => Kind::DateTime,
        ColumnType::Timestamp => Kind::Timestamp,
        ColumnType::Uuid => Kind::Uuid,
        ColumnType::Json => Kind::Json,
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_owned()))
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Bytes(self.to_vec()))
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Value> {
        (**self).to_value()
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Result<Value> {
        Ok(self.clone())
    }
}

/// Bind parameters of a raw statement: `()`, a slice or array of `&dyn ToValue`, or a tuple.
///
/// ```
/// use nextorm_core::{IntoParams, Value};
/// let p = (1_i64, "widget").into_params().unwrap();
/// assert_eq!(p, vec![Value::Int(1), Value::Text("widget".into())]);
/// ```
pub trait IntoParams {
    /// The values, in placeholder order.
    fn into_params(self) -> Result<Vec<Value>>;
}

impl IntoParams for () {
    fn into_params(self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
}
impl IntoParams for Vec<Value> {
    fn into_params(self) -> Result<Vec<Value>> {
        Ok(self)
    }
}
impl IntoParams for &[&dyn ToValue] {
    fn into_params(self) -> Result<Vec<Value>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}
impl<const N: usize> IntoParams for &[&dyn ToValue; N] {
    fn into_params(self) -> Result<Vec<Value>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

macro_rules! tuple_params {
    ($($t:ident $i:tt),+) => {
        impl<$($t: ToValue),+> IntoParams for ($($t,)+) {
            fn into_params(self) -> Result<Vec<Value>> {
                Ok(vec![$(self.$i.to_value()?),+])
            }
        }
    };
}
for_tuples_up_to_8!(tuple_params);

/// A result row decoded into a Rust type: a scalar, a tuple of scalars, or an entity.
pub trait FromRow: Sized {
    /// Decodes the row.
    fn from_row(row: &dyn RowRead) -> Result<Self>;
}

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSql),+> FromRow for ($($t,)+) {
            fn from_row(row: &dyn RowRead) -> Result<Self> {
                Ok(($(decode_column::<$t>(row, $i)?,)+))
            }
        }
    };
}
for_tuples_up_to_8!(tuple_row);

/// Reads column `idx` as a [`Value`] of a column of type `ty` (a key read back from a join
/// table): the same value the entity's field would give.
pub(crate) fn read_value(row: &dyn RowRead, idx: usize, ty: ColumnType) -> Result<Value> {
    if row.is_null(idx)? {
        return Ok(Value::Null(kind_of(ty)));
    }
    Ok(match ty {
        ColumnType::Bool => Value::Bool(row.get_bool(idx)?),
        ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt | ColumnType::IntEnum(_) => {
            Value::Int(row.get_i64(idx)?)
        }
        ColumnType::Real | ColumnType::Double => Value::Float(row.get_f64(idx)?),
        ColumnType::Text | ColumnType::TextEnum(_) => Value::Text(row.get_string(idx)?),
        ColumnType::Bytes => Value::Bytes(row.get_bytes(idx)?),
        ColumnType::Decimal => Value::Decimal(row.get_decimal(idx)?),
        ColumnType::Date => Value::Date(row.get_date(idx)?),
        ColumnType::DateTime => Value::DateTime(row.get_datetime(idx)?),
        ColumnType::Timestamp => Value::Timestamp(row.get_timestamp(idx)?),
        ColumnType::Uuid => Value::Uuid(row.get_uuid(idx)?),
        ColumnType::Json => Value::Json(row.get_json(idx)?),
    })
}

/// Decodes column `idx`, naming the column in the error.
pub fn decode_column<T: FromSql>(row: &dyn RowRead, idx: usize) -> Result<T> {
    if idx >= row.column_count() {
        return Err(Error::decode(format!("the row has {} columns, column {idx} was asked for", row.column_count())));
    }
    T::from_sql(row, idx).map_err(|e| e.context(format_args!("column `{}`", row.column_name(idx))))
}

macro_rules! scalar_row {
    ($($t:ty),*) => {$(
        impl FromRow for $t {
            fn from_row(row: &dyn RowRead) -> Result<Self> {
                decode_column(row, 0)
            }
        }
    )*};
}
scalar_types!(scalar_row);
impl<T: FromSql> FromRow for Option<T> {
    fn from_row(row: &dyn RowRead) -> Result<Self> {
        decode_column(row, 0)
    }
}

/// Truncates a date-time to the microsecond precision every dialect stores.
pub fn truncate_micros(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1000).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_above_i64_max_is_refused() {
        assert_eq!((i64::MAX as u64).to_value().unwrap(), Value::Int(i64::MAX));
        let err = (i64::MAX as u64 + 1).to_value().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidValue);
    }

    #[test]
    fn none_is_a_typed_null() {
        assert_eq!(None::<String>.to_value().unwrap(), Value::Null(Kind::Text));
        assert_eq!(None::<i32>.to_value().unwrap(), Value::Null(Kind::Int));
    }

    #[test]
    fn truncate_micros_drops_nanoseconds() {
        let t = NaiveDate::from_ymd_opt(2020, 1, 2).unwrap().and_hms_nano_opt(3, 4, 5, 123_456_789).unwrap();
        assert_eq!(truncate_micros(t).and_utc().timestamp_subsec_nanos(), 123_456_000);
    }
}
