//! Registers nextorm's exact decimal functions and collation on a SQLite connection (their
//! names and arithmetic are `nextorm_core::sqlite_decimal`'s); this file only adapts SQLite's
//! values to decimals and back.

use nextorm_core::sqlite_decimal::{
    self, Accumulator, COLLATION, Computed, DecimalAggregate, DecimalFn, canonical_text, parse_text,
};
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{ToSqlOutput, Value as Owned, ValueRef};
use rusqlite::{Connection, Error};
use rust_decimal::Decimal;

/// Adds every decimal function, aggregate and the collation to `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    for func in DecimalFn::ALL {
        conn.create_scalar_function(func.name(), func.arity() as i32, flags, move |ctx| {
            let args = (0..ctx.len()).map(|i| argument(ctx, i)).collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(match func.call(&args).map_err(user_error)? {
                None => ToSqlOutput::Owned(Owned::Null),
                Some(Computed::Int(i)) => ToSqlOutput::Owned(Owned::Integer(i)),
                Some(Computed::Decimal(d)) => ToSqlOutput::Owned(Owned::Text(canonical_text(d))),
            })
        })?;
    }
    for func in DecimalAggregate::ALL {
        conn.create_aggregate_function(func.name(), 1, flags, DecimalAggregation(func))?;
    }
    conn.create_collation(COLLATION, sqlite_decimal::compare_text)
}

/// Argument `i` as a decimal: text as written, integers exactly, a double through its shortest
/// text (`0.1`, not `0.1000000000000000055…`).
fn argument(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Decimal>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(n) => Ok(Some(Decimal::from(n))),
        ValueRef::Real(f) => parse_text(&f.to_string()).map(Some).map_err(user_error),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map_err(|e| Error::UserFunctionError(e.into()))
            .and_then(|s| parse_text(s).map_err(user_error))
            .map(Some),
        ValueRef::Blob(_) => Err(Error::UserFunctionError("a blob is not a decimal".into())),
    }
}

fn user_error(e: nextorm_core::Error) -> Error {
    Error::UserFunctionError(e.message().to_owned().into())
}

struct DecimalAggregation(DecimalAggregate);

impl Aggregate<Accumulator, Option<String>> for DecimalAggregation {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Accumulator> {
        Ok(Accumulator::default())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Accumulator) -> rusqlite::Result<()> {
        acc.add(self.0, argument(ctx, 0)?).map_err(user_error)
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Accumulator>) -> rusqlite::Result<Option<String>> {
        Ok(acc.and_then(|a| a.finish(self.0)).map(canonical_text))
    }
}
