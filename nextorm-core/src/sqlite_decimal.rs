//! Exact decimals on SQLite, which has no decimal type. nextorm stores a decimal there as its
//! canonical text (`12.5`, never `12.50` or a double) and computes with it through SQL functions
//! that every nextorm SQLite connection registers. This module names those functions (the
//! renderer writes the names, the driver registers them) and does their arithmetic, in Rust and
//! without IO, so both sides agree and the arithmetic is unit-tested without a database.

use crate::error::{Error, ErrorKind, Result};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::str::FromStr;

/// The collation that orders and matches text decimals by value (`ORDER BY x COLLATE
/// nextorm_decimal`, `x COLLATE nextorm_decimal IN (...)`).
pub const COLLATION: &str = "nextorm_decimal";

/// The canonical text of a decimal: no trailing zeros after the point, no negative zero. Equal
/// values have equal text, so equality, `DISTINCT`, `GROUP BY` and `UNIQUE` hold on the text.
pub fn canonical_text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Reads a decimal from text: plain (`-12.50`) or scientific (`1.25e1`).
pub fn parse_text(s: &str) -> Result<Decimal> {
    let s = s.trim();
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .map_err(|e| Error::decode(format!("cannot read {s:?} as a decimal: {e}")))
}

/// Orders two text decimals by value; text that is not a decimal sorts after every decimal,
/// by its bytes (a collation must order every pair).
pub fn compare_text(a: &str, b: &str) -> Ordering {
    match (parse_text(a), parse_text(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// A scalar decimal function. Every argument may be NULL, and then so is the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecimalFn {
    /// `nextorm_decimal_cmp(a, b)`: -1, 0 or 1.
    Cmp,
    /// `nextorm_decimal_between(x, low, high)`: 1 when `low <= x <= high`, else 0.
    Between,
    /// `nextorm_decimal_add(a, b)`.
    Add,
    /// `nextorm_decimal_sub(a, b)`.
    Sub,
    /// `nextorm_decimal_mul(a, b)`.
    Mul,
    /// `nextorm_decimal_div(a, b)`: NULL for a zero divisor, as SQLite's own `/`.
    Div,
    /// `nextorm_decimal_rem(a, b)`: the remainder, with the dividend's sign; NULL for a zero divisor.
    Rem,
    /// `nextorm_decimal_neg(a)`.
    Neg,
    /// `nextorm_decimal_abs(a)`.
    Abs,
}

/// What a [`DecimalFn`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computed {
    /// An integer (comparisons and tests).
    Int(i64),
    /// A decimal.
    Decimal(Decimal),
}

impl DecimalFn {
    /// Every scalar function, for the driver to register.
    pub const ALL: [DecimalFn; 9] = [
        DecimalFn::Cmp,
        DecimalFn::Between,
        DecimalFn::Add,
        DecimalFn::Sub,
        DecimalFn::Mul,
        DecimalFn::Div,
        DecimalFn::Rem,
        DecimalFn::Neg,
        DecimalFn::Abs,
    ];

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            DecimalFn::Cmp => "nextorm_decimal_cmp",
            DecimalFn::Between => "nextorm_decimal_between",
            DecimalFn::Add => "nextorm_decimal_add",
            DecimalFn::Sub => "nextorm_decimal_sub",
            DecimalFn::Mul => "nextorm_decimal_mul",
            DecimalFn::Div => "nextorm_decimal_div",
            DecimalFn::Rem => "nextorm_decimal_rem",
            DecimalFn::Neg => "nextorm_decimal_neg",
            DecimalFn::Abs => "nextorm_decimal_abs",
        }
    }

    /// The number of arguments.
    pub fn arity(self) -> usize {
        match self {
            DecimalFn::Neg | DecimalFn::Abs => 1,
            DecimalFn::Between => 3,
            _ => 2,
        }
    }

    /// Applies the function; `None` is SQL NULL. Overflow is an error. Results keep at most 28
    /// significant digits (`rust_decimal`'s), so a quotient or average that does not terminate
    /// (`1 / 3`) is rounded there, where PostgreSQL keeps a scale of at least 16 digits.
    pub fn call(self, args: &[Option<Decimal>]) -> Result<Option<Computed>> {
        let arg = |i: usize| args.get(i).copied().flatten();
        // BETWEEN decides with one NULL bound; every other function is NULL with a NULL argument.
        if self != DecimalFn::Between && args.iter().any(Option::is_none) {
            return Ok(None);
        }
        let (a, b) = (arg(0).unwrap_or_default(), arg(1).unwrap_or_default());
        let checked = |r: Option<Decimal>| r.map(Computed::Decimal).ok_or_else(|| overflow(self));
        Ok(Some(match self {
            DecimalFn::Cmp => Computed::Int(a.cmp(&b) as i64),
            DecimalFn::Between => match between(arg(0), arg(1), arg(2)) {
                Some(inside) => Computed::Int(i64::from(inside)),
                None => return Ok(None),
            },
            DecimalFn::Add => checked(a.checked_add(b))?,
            DecimalFn::Sub => checked(a.checked_sub(b))?,
            DecimalFn::Mul => checked(a.checked_mul(b))?,
            DecimalFn::Div | DecimalFn::Rem if b.is_zero() => return Ok(None),
            DecimalFn::Div => checked(a.checked_div(b))?,
            DecimalFn::Rem => checked(a.checked_rem(b))?,
            DecimalFn::Neg => Computed::Decimal(-a),
            DecimalFn::Abs => Computed::Decimal(a.abs()),
        }))
    }
}

/// `x BETWEEN low AND high` in SQL's three-valued logic: `low <= x AND x <= high`, so one
/// known bound that excludes `x` makes it false even when the other bound is NULL.
fn between(x: Option<Decimal>, low: Option<Decimal>, high: Option<Decimal>) -> Option<bool> {
    let x = x?;
    let above_low = low.map(|l| l <= x);
    let below_high = high.map(|h| x <= h);
    match (above_low, below_high) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn overflow(f: DecimalFn) -> Error {
    Error::new(ErrorKind::InvalidValue, format!("{}: the result is out of the decimal range", f.name()))
}

/// An aggregate over decimals. Each ignores NULLs and is NULL over no values (`sum` is then
/// turned into 0 by the statement's `COALESCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecimalAggregate {
    /// `nextorm_decimal_sum(x)`.
    Sum,
    /// `nextorm_decimal_avg(x)`.
    Avg,
    /// `nextorm_decimal_min(x)`.
    Min,
    /// `nextorm_decimal_max(x)`.
    Max,
}

impl DecimalAggregate {
    /// Every aggregate, for the driver to register.
    pub const ALL: [DecimalAggregate; 4] =
        [DecimalAggregate::Sum, DecimalAggregate::Avg, DecimalAggregate::Min, DecimalAggregate::Max];

    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            DecimalAggregate::Sum => "nextorm_decimal_sum",
            DecimalAggregate::Avg => "nextorm_decimal_avg",
            DecimalAggregate::Min => "nextorm_decimal_min",
            DecimalAggregate::Max => "nextorm_decimal_max",
        }
    }
}

/// The running state of a [`DecimalAggregate`].
#[derive(Debug, Clone, Default)]
pub struct Accumulator {
    total: Decimal,
    count: u64,
    least: Option<Decimal>,
    greatest: Option<Decimal>,
}

impl Accumulator {
    /// Takes one value; NULLs are skipped.
    pub fn add(&mut self, func: DecimalAggregate, value: Option<Decimal>) -> Result<()> {
        let Some(v) = value else { return Ok(()) };
        if matches!(func, DecimalAggregate::Sum | DecimalAggregate::Avg) {
            self.total = self.total.checked_add(v).ok_or_else(|| {
                Error::new(ErrorKind::InvalidValue, format!("{}: the sum is out of the decimal range", func.name()))
            })?;
        }
        self.count += 1;
        self.least = Some(self.least.map_or(v, |m| m.min(v)));
        self.greatest = Some(self.greatest.map_or(v, |m| m.max(v)));
        Ok(())
    }

    /// The aggregate's value; `None` over no values.
    pub fn finish(&self, func: DecimalAggregate) -> Option<Decimal> {
        if self.count == 0 {
            return None;
        }
        match func {
            DecimalAggregate::Sum => Some(self.total),
            DecimalAggregate::Avg => self.total.checked_div(Decimal::from(self.count)),
            DecimalAggregate::Min => self.least,
            DecimalAggregate::Max => self.greatest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        parse_text(s).unwrap()
    }

    #[test]
    fn text_is_canonical_so_equal_values_have_equal_text() {
        assert_eq!(canonical_text(d("12.00")), "12");
        assert_eq!(canonical_text(d("-0.0")), "0");
        assert_eq!(canonical_text(d("8.990")), "8.99");
        assert_eq!(d("1.25e1"), d("12.5"));
    }

    #[test]
    fn text_decimals_order_by_value_not_by_text() {
        assert_eq!(compare_text("8.99", "24.50"), Ordering::Less);
        assert_eq!(compare_text("-10", "-9"), Ordering::Less);
        assert_eq!(compare_text("12.00", "12"), Ordering::Equal);
        assert_eq!(compare_text("1", "not a number"), Ordering::Less);
    }

    #[test]
    fn arithmetic_is_exact_and_null_propagates() {
        let call = |f: DecimalFn, args: &[&str]| f.call(&args.iter().map(|s| Some(d(s))).collect::<Vec<_>>());
        assert_eq!(call(DecimalFn::Mul, &["8.99", "3"]).unwrap(), Some(Computed::Decimal(d("26.97"))));
        assert_eq!(call(DecimalFn::Add, &["0.1", "0.2"]).unwrap(), Some(Computed::Decimal(d("0.3"))));
        assert_eq!(call(DecimalFn::Cmp, &["8.99", "10"]).unwrap(), Some(Computed::Int(-1)));
        assert_eq!(call(DecimalFn::Between, &["10", "10", "12.5"]).unwrap(), Some(Computed::Int(1)));
        assert_eq!(call(DecimalFn::Div, &["1", "0"]).unwrap(), None);
        assert_eq!(call(DecimalFn::Rem, &["-7.5", "2"]).unwrap(), Some(Computed::Decimal(d("-1.5"))));
        assert_eq!(DecimalFn::Add.call(&[Some(d("1")), None]).unwrap(), None);
        // One known bound that excludes the value decides, as SQL's `low <= x AND x <= high` does.
        assert_eq!(DecimalFn::Between.call(&[Some(d("10")), None, Some(d("5"))]).unwrap(), Some(Computed::Int(0)));
        assert_eq!(DecimalFn::Between.call(&[Some(d("1")), None, Some(d("5"))]).unwrap(), None);
        let max = Decimal::MAX.to_string();
        assert!(call(DecimalFn::Add, &[&max, "1"]).is_err());
    }

    #[test]
    fn aggregates_skip_nulls_and_are_null_over_nothing() {
        let mut acc = Accumulator::default();
        assert_eq!(acc.finish(DecimalAggregate::Sum), None);
        for v in [Some(d("8.99")), None, Some(d("12.00")), Some(d("24.50"))] {
            acc.add(DecimalAggregate::Avg, v).unwrap();
        }
        assert_eq!(acc.finish(DecimalAggregate::Sum), Some(d("45.49")));
        assert_eq!(acc.finish(DecimalAggregate::Min), Some(d("8.99")));
        assert_eq!(acc.finish(DecimalAggregate::Max), Some(d("24.50")));
        let avg = acc.finish(DecimalAggregate::Avg).unwrap();
        assert_eq!(avg.round_dp(10), d("15.1633333333"));
    }
}
