//! The type system of query expressions: which Rust types a column or value has, which can be
//! compared, and what arithmetic yields.

use crate::value::{FromSql, Kind, ToValue};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Comparison families: two expressions compare when their classes are equal.
pub mod class {
    /// Integers, floats and decimals: all comparable with each other.
    pub struct Numeric;
    /// Text.
    pub struct Text;
    /// Booleans.
    pub struct Boolean;
    /// Bytes.
    pub struct Bytes;
    /// Calendar dates.
    pub struct Date;
    /// Date-times without a time zone.
    pub struct DateTime;
    /// UTC instants.
    pub struct Timestamp;
    /// UUIDs.
    pub struct Uuid;
    /// JSON documents.
    pub struct Json;
    /// A `#[derive(DbEnum)]` enum: comparable with itself only.
    pub struct Enum<E>(std::marker::PhantomData<E>);
    /// A reference to an entity (`Single<E>`, an object, a loop variable): comparable with
    /// references to the same entity, by key.
    pub struct Object<E>(std::marker::PhantomData<E>);
}

/// Whether a type admits NULL.
pub mod null {
    /// Never NULL.
    pub struct No;
    /// May be NULL.
    pub struct Yes;
}

/// The numeric ranks arithmetic promotes through: integer < float, integer < decimal.
pub mod rank {
    /// Integers; arithmetic yields `i64`.
    pub struct Int;
    /// Floats; arithmetic yields `f64`.
    pub struct Float;
    /// Decimals; arithmetic yields `Decimal`.
    pub struct Dec;
}

/// The SQL-side type of a query expression, named by the Rust type it decodes to.
#[diagnostic::on_unimplemented(message = "`{Self}` cannot be used in a query expression")]
pub trait SqlType: 'static {
    /// The kind of its bound values (and of a typed NULL).
    const KIND: Kind;
    /// Its comparison family.
    type Class: 'static;
    /// [`null::Yes`] for `Option<T>`, [`null::No`] otherwise.
    type Null: Nullness;
    /// The type without `Option`.
    type NotNull: SqlType;
}

/// A numeric type.
#[diagnostic::on_unimplemented(message = "`{Self}` is not numeric: arithmetic and sum/avg need numbers")]
pub trait Numeric: SqlType<Class = class::Numeric> {
    /// Its rank.
    type Rank: Rank;
}

/// A text type.
#[diagnostic::on_unimplemented(message = "`{Self}` is not text: this operation needs a String column")]
pub trait Textual: SqlType<Class = class::Text> {}

/// A type with date parts (`year()`, `month()`, ...).
#[diagnostic::on_unimplemented(message = "`{Self}` has no date parts: year(), month() and day() need a date or time")]
pub trait Temporal: SqlType {}

/// A type with time-of-day parts (`hour()`, `minute()`, `second()`).
#[diagnostic::on_unimplemented(message = "`{Self}` has no time of day: hour(), minute() and second() need a date-time")]
pub trait TimeOfDay: Temporal {}

/// NULL-ness, combined through operators.
pub trait Nullness: 'static {
    /// `T` or `Option<T>`.
    type Apply<T: SqlType<Null = null::No>>: SqlType;
    /// Nullable if either side is.
    type Or<N: Nullness>: Nullness;
}

impl Nullness for null::No {
    type Apply<T: SqlType<Null = null::No>> = T;
    type Or<N: Nullness> = N;
}

impl Nullness for null::Yes {
    type Apply<T: SqlType<Null = null::No>> = Option<T>;
    type Or<N: Nullness> = null::Yes;
}

/// A numeric rank and how it combines with the others.
pub trait Rank: 'static {
    /// The Rust type arithmetic of this rank yields.
    type Out: Numeric<Null = null::No> + FromSql + Send;
    /// The Rust type an average of this rank yields.
    type Avg: SqlType<Null = null::No> + FromSql + Send;
    /// The rank of `self op other`.
    type With<R: Rank>: Rank;
    /// This rank combined with an integer.
    type JoinInt: Rank;
    /// This rank combined with a float.
    type JoinFloat: Rank;
    /// This rank combined with a decimal.
    type JoinDec: Rank;
    /// Whether division truncates (integers divide to integers, as in Rust).
    const INTEGER: bool;
}

impl Rank for rank::Int {
    type Out = i64;
    type Avg = f64;
    type With<R: Rank> = R::JoinInt;
    type JoinInt = rank::Int;
    type JoinFloat = rank::Float;
    type JoinDec = rank::Dec;
    const INTEGER: bool = true;
}

impl Rank for rank::Float {
    type Out = f64;
    type Avg = f64;
    type With<R: Rank> = R::JoinFloat;
    type JoinInt = rank::Float;
    type JoinFloat = rank::Float;
    type JoinDec = rank::Float;
    const INTEGER: bool = false;
}

impl Rank for rank::Dec {
    type Out = Decimal;
    type Avg = Decimal;
    type With<R: Rank> = R::JoinDec;
    type JoinInt = rank::Dec;
    type JoinFloat = rank::Float;
    type JoinDec = rank::Dec;
    const INTEGER: bool = false;
}

macro_rules! sql_types {
    ($($t:ty => $class:ty, $kind:ident $(, $rank:ty)?;)*) => {$(
        impl SqlType for $t {
            const KIND: Kind = Kind::$kind;
            type Class = $class;
            type Null = null::No;
            type NotNull = $t;
        }
        $(impl Numeric for $t {
            type Rank = $rank;
        })?
    )*};
}

sql_types! {
    i8 => class::Numeric, Int, rank::Int;
    u8 => class::Numeric, Int, rank::Int;
    i16 => class::Numeric, Int, rank::Int;
    u16 => class::Numeric, Int, rank::Int;
    i32 => class::Numeric, Int, rank::Int;
    u32 => class::Numeric, Int, rank::Int;
    i64 => class::Numeric, Int, rank::Int;
    u64 => class::Numeric, Int, rank::Int;
    f32 => class::Numeric, Float, rank::Float;
    f64 => class::Numeric, Float, rank::Float;
    Decimal => class::Numeric, Decimal, rank::Dec;
    bool => class::Boolean, Bool;
    String => class::Text, Text;
    Vec<u8> => class::Bytes, Bytes;
    NaiveDate => class::Date, Date;
    NaiveDateTime => class::DateTime, DateTime;
    DateTime<Utc> => class::Timestamp, Timestamp;
    Uuid => class::Uuid, Uuid;
    serde_json::Value => class::Json, Json;
}

impl Textual for String {}
impl Temporal for NaiveDate {}
impl Temporal for NaiveDateTime {}
impl Temporal for DateTime<Utc> {}
impl TimeOfDay for NaiveDateTime {}
impl TimeOfDay for DateTime<Utc> {}

impl<T: SqlType<Null = null::No>> SqlType for Option<T> {
    const KIND: Kind = T::KIND;
    type Class = T::Class;
    type Null = null::Yes;
    type NotNull = T;
}
impl<T: Numeric<Null = null::No>> Numeric for Option<T> {
    type Rank = T::Rank;
}
impl Textual for Option<String> {}
impl<T: Temporal<Null = null::No>> Temporal for Option<T> {}
impl<T: TimeOfDay<Null = null::No>> TimeOfDay for Option<T> {}

/// An integer literal written in a query: compares with any number.
pub struct IntLit;
/// A float literal written in a query.
pub struct FloatLit;

impl SqlType for IntLit {
    const KIND: Kind = Kind::Int;
    type Class = class::Numeric;
    type Null = null::No;
    type NotNull = IntLit;
}
impl Numeric for IntLit {
    type Rank = rank::Int;
}
impl SqlType for FloatLit {
    const KIND: Kind = Kind::Float;
    type Class = class::Numeric;
    type Null = null::No;
    type NotNull = FloatLit;
}
impl Numeric for FloatLit {
    type Rank = rank::Float;
}

/// A Rust value usable as a bound query operand, and the query type it stands for: `&str` binds
/// as `String`, `&T` as `T`.
#[diagnostic::on_unimplemented(message = "`{Self}` cannot be bound as a query parameter")]
pub trait BindAs: ToValue {
    /// The query type.
    type Ty: SqlType;
    /// The node that binds the value: one bound value, or a row of them for an object with a
    /// composite key. A value that fails to convert becomes a bind the driver refuses.
    fn bind_node(&self) -> crate::ast::Expr {
        crate::ast::Expr::Value(self.to_value().unwrap_or_else(|e| crate::Value::Invalid(e.message().to_owned())))
    }
}

macro_rules! bind_as_self {
    ($($t:ty),*) => {$(
        impl BindAs for $t {
            type Ty = $t;
        }
    )*};
}
crate::value::scalar_types!(bind_as_self);

impl<T: BindAs + crate::value::SqlField> BindAs for Option<T>
where
    T::Ty: SqlType<Null = null::No>,
{
    type Ty = Option<T::Ty>;
}

impl BindAs for str {
    type Ty = String;
}
impl BindAs for [u8] {
    type Ty = Vec<u8>;
}
impl<T: BindAs + ?Sized> BindAs for &T {
    type Ty = T::Ty;
    fn bind_node(&self) -> crate::ast::Expr {
        (**self).bind_node()
    }
}
