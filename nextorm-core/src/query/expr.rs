//! Typed expressions and the operators and functions `select!` expands to.

use super::types::*;
use crate::ast::{self, AggFunc, BinOp, Func, LikeMode, UnOp};
use crate::value::{Kind, ToValue, Value};
use std::marker::PhantomData;

/// A query expression whose value has the Rust type `T` (`Option<T>` when it may be NULL).
///
/// The fields of an entity's handle are `Expr`s: `p.price` is an `Expr<f64>` naming the column
/// `"p"."price"`.
pub struct Expr<T> {
    pub(crate) node: ast::Expr,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Expr<T> {
    fn clone(&self) -> Self {
        Expr { node: self.node.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for Expr<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.node.fmt(f)
    }
}

impl<T> Expr<T> {
    /// Wraps an untyped node; the caller vouches for the type.
    pub fn from_node(node: ast::Expr) -> Self {
        Expr { node, _type: PhantomData }
    }

    /// The column `alias.name`.
    pub fn column(alias: &'static str, name: &'static str) -> Self {
        Expr::from_node(ast::Expr::qualified(alias, name))
    }

    /// The untyped node.
    pub fn into_node(self) -> ast::Expr {
        self.node
    }

    /// The untyped node, borrowed.
    pub fn node(&self) -> &ast::Expr {
        &self.node
    }
}

/// Anything that can stand on either side of an operator: an expression, a bound Rust value, or a
/// literal.
pub trait Operand {
    /// The query type of the operand.
    type Ty: SqlType;
    /// The untyped node.
    fn into_node(self) -> ast::Expr;
}

impl<T: SqlType> Operand for Expr<T> {
    type Ty = T;
    fn into_node(self) -> ast::Expr {
        self.node
    }
}

/// A Rust value bound as a parameter, typed as `T`.
pub struct Bound<T> {
    node: ast::Expr,
    _type: PhantomData<fn() -> T>,
}

impl<T: SqlType> Operand for Bound<T> {
    type Ty = T;
    fn into_node(self) -> ast::Expr {
        self.node
    }
}

impl<T: SqlType> Bound<T> {
    /// The value as an expression of the query.
    fn expr(self) -> Expr<T> {
        typed(self.node)
    }

    /// `? IN (...)`: a Rust value tested against a list, a subquery, or the values of a
    /// collection (`"Algebra".is_in(s.courses.name)`).
    pub fn is_in<L: InList<T::Class>>(self, list: L) -> Expr<<T::Null as Nullness>::Apply<bool>> {
        self.expr().is_in(list)
    }

    /// `? NOT IN (...)`.
    pub fn not_in<L: InList<T::Class>>(self, list: L) -> Expr<<T::Null as Nullness>::Apply<bool>> {
        self.expr().not_in(list)
    }
}

/// A value that failed to convert (a `u64` above `i64::MAX`) still has to produce a node: it
/// becomes a bind the driver refuses, so the error surfaces when the query runs.
fn to_value_or_error<V: ToValue + ?Sized>(v: &V) -> Value {
    v.to_value().unwrap_or_else(|e| Value::Invalid(e.message().to_owned()))
}

/// Binds a Rust value: `select!` wraps every sub-expression that mentions no loop variable in
/// `val(&(...))`, so it is evaluated once and sent as a parameter, never as SQL text.
pub fn val<V: BindAs + ?Sized>(v: &V) -> Bound<V::Ty> {
    Bound { node: v.bind_node(), _type: PhantomData }
}

/// An integer literal of the query: it compares and combines with any number.
pub fn lit_int(v: i64) -> Bound<IntLit> {
    Bound { node: ast::Expr::Value(Value::Int(v)), _type: PhantomData }
}

/// A float literal of the query.
pub fn lit_float(v: f64) -> Bound<FloatLit> {
    Bound { node: ast::Expr::Value(Value::Float(v)), _type: PhantomData }
}

macro_rules! plain_operand {
    ($($t:ty),*) => {$(
        impl Operand for $t {
            type Ty = <$t as BindAs>::Ty;
            fn into_node(self) -> ast::Expr {
                ast::Expr::Value(to_value_or_error(&self))
            }
        }
    )*};
}
// Plain values in the closure form: `p.price.lt(20)`, `p.name.eq("Widget")`.
crate::value::scalar_types!(plain_operand);

impl Operand for &str {
    type Ty = String;
    fn into_node(self) -> ast::Expr {
        ast::Expr::Value(Value::Text(self.to_owned()))
    }
}

impl<T: BindAs> Operand for Option<T>
where
    Option<T>: BindAs,
{
    type Ty = <Option<T> as BindAs>::Ty;
    fn into_node(self) -> ast::Expr {
        ast::Expr::Value(to_value_or_error(&self))
    }
}

type NullOr<L, R> = <<L as SqlType>::Null as Nullness>::Or<<R as SqlType>::Null>;
/// `bool`, or `Option<bool>` when either side may be NULL.
pub type BoolOf<L, R> = <NullOr<L, R> as Nullness>::Apply<bool>;
/// The type of `l + r` and the like.
pub type ArithOf<L, R> =
    <NullOr<L, R> as Nullness>::Apply<<<<L as Numeric>::Rank as Rank>::With<<R as Numeric>::Rank> as Rank>::Out>;

fn typed<T>(node: ast::Expr) -> Expr<T> {
    Expr::from_node(node)
}

fn binary<T>(op: BinOp, l: impl Operand, r: impl Operand) -> Expr<T> {
    typed(ast::Expr::binary(op, l.into_node(), r.into_node()))
}

/// Whether values of `T` are exact decimals, which SQLite computes with through functions.
pub(crate) fn is_decimal<T: SqlType>() -> bool {
    T::KIND == Kind::Decimal
}

/// `op` on operands that may be decimals: marked as a decimal operation when one is.
fn decimal_binary<T, L: Operand, R: Operand>(op: BinOp, l: L, r: R) -> Expr<T> {
    let decimal = is_decimal::<L::Ty>() || is_decimal::<R::Ty>();
    typed(ast::Expr::binary(op, l.into_node(), r.into_node()).decimal_if(decimal))
}

macro_rules! comparisons {
    ($($name:ident => $op:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name<L: Operand, R: Operand>(l: L, r: R) -> Expr<BoolOf<L::Ty, R::Ty>>
        where
            R::Ty: SqlType<Class = <L::Ty as SqlType>::Class>,
        {
            decimal_binary(BinOp::$op, l, r)
        }
    )*};
}

comparisons! {
    eq => Eq, "`l = r`. Both sides must be of one family: numbers with numbers, text with text.";
    ne => Ne, "`l <> r`.";
    lt => Lt, "`l < r`.";
    le => Le, "`l <= r`.";
    gt => Gt, "`l > r`.";
    ge => Ge, "`l >= r`.";
}

/// A condition: a boolean expression, possibly NULL.
#[diagnostic::on_unimplemented(message = "a condition must be a boolean expression, found `{Self}`")]
pub trait Condition: Operand {}
impl<O: Operand> Condition for O where O::Ty: SqlType<Class = class::Boolean> {}

/// `l AND r`.
pub fn and<L: Condition, R: Condition>(l: L, r: R) -> Expr<BoolOf<L::Ty, R::Ty>> {
    binary(BinOp::And, l, r)
}

/// `l OR r`.
pub fn or<L: Condition, R: Condition>(l: L, r: R) -> Expr<BoolOf<L::Ty, R::Ty>> {
    binary(BinOp::Or, l, r)
}

/// `NOT x`. Negating a text test on a nullable column keeps the NULL rows, as Pony's
/// `'x' not in s.email` does: `NOT (email LIKE ...) OR email IS NULL`.
pub fn not<C: Condition>(x: C) -> Expr<C::Ty> {
    let node = x.into_node();
    // `!exists(...)` and `!c.orders.is_empty()` flip the test rather than stack `NOT`s.
    if let ast::Expr::Exists { query, negated } = node {
        return typed(ast::Expr::Exists { query, negated: !negated });
    }
    let tested = match &node {
        ast::Expr::Like { expr, .. } if nullable::<C::Ty>() => Some((**expr).clone()),
        _ => None,
    };
    let negated = ast::Expr::Unary { op: UnOp::Not, expr: Box::new(node) };
    match tested {
        Some(column) => {
            typed(ast::Expr::binary(BinOp::Or, negated, ast::Expr::IsNull { expr: Box::new(column), negated: false }))
        }
        None => typed(negated),
    }
}

/// `-x`.
pub fn neg<N: Operand>(x: N) -> Expr<N::Ty>
where
    N::Ty: Numeric,
{
    typed(ast::Expr::Unary { op: UnOp::Neg, expr: Box::new(x.into_node()) }.decimal_if(is_decimal::<N::Ty>()))
}

/// `l + r` for numbers, or concatenation for text (`a + b` on strings, as in Rust).
pub fn add<L: Operand, R: Operand>(l: L, r: R) -> Expr<PlusOf<L::Ty, R::Ty>>
where
    <L::Ty as SqlType>::Class: ClassPlus<L::Ty, R::Ty>,
{
    let op = if <<L::Ty as SqlType>::Class as ClassPlus<L::Ty, R::Ty>>::CONCAT { BinOp::Concat } else { BinOp::Add };
    decimal_binary(op, l, r)
}

/// The type of `l + r`.
pub type PlusOf<L, R> = <<L as SqlType>::Class as ClassPlus<L, R>>::Output;

/// What `+` means in a family: addition of numbers, concatenation of text.
#[diagnostic::on_unimplemented(message = "cannot add `{R}` to `{L}` in a query")]
pub trait ClassPlus<L, R> {
    /// The result type.
    type Output;
    /// Concatenation rather than addition.
    const CONCAT: bool;
}

impl<L: Numeric, R: Numeric> ClassPlus<L, R> for class::Numeric {
    type Output = ArithOf<L, R>;
    const CONCAT: bool = false;
}

impl<L: Textual, R: Textual> ClassPlus<L, R> for class::Text {
    type Output = TextOf<L, R>;
    const CONCAT: bool = true;
}

/// `String`, or `Option<String>` when either side may be NULL.
pub type TextOf<L, R> = <NullOr<L, R> as Nullness>::Apply<String>;

/// Text concatenation (`+` on two text operands).
pub fn concat<L: Operand, R: Operand>(l: L, r: R) -> Expr<TextOf<L::Ty, R::Ty>>
where
    L::Ty: Textual,
    R::Ty: Textual,
{
    binary(BinOp::Concat, l, r)
}

macro_rules! arithmetic {
    ($($name:ident => $op:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name<L: Operand, R: Operand>(l: L, r: R) -> Expr<ArithOf<L::Ty, R::Ty>>
        where
            L::Ty: Numeric,
            R::Ty: Numeric,
        {
            decimal_binary(BinOp::$op, l, r)
        }
    )*};
}

arithmetic! {
    sub => Sub, "`l - r`.";
    mul => Mul, "`l * r`.";
    rem => Rem, "`l % r`.";
}

/// `l / r`: integer division truncates when both sides are integers, as in Rust.
pub fn div<L: Operand, R: Operand>(l: L, r: R) -> Expr<ArithOf<L::Ty, R::Ty>>
where
    L::Ty: Numeric,
    R::Ty: Numeric,
{
    let integer = <<<L::Ty as Numeric>::Rank as Rank>::With<<R::Ty as Numeric>::Rank> as Rank>::INTEGER;
    decimal_binary(if integer { BinOp::IntDiv } else { BinOp::Div }, l, r)
}

/// `x BETWEEN low AND high` (both ends included).
pub fn between<X: Operand, A: Operand, B: Operand>(x: X, low: A, high: B) -> Expr<BoolOf<X::Ty, A::Ty>>
where
    A::Ty: SqlType<Class = <X::Ty as SqlType>::Class>,
    B::Ty: SqlType<Class = <X::Ty as SqlType>::Class>,
{
    let decimal = is_decimal::<X::Ty>() || is_decimal::<A::Ty>() || is_decimal::<B::Ty>();
    typed(
        ast::Expr::Between {
            expr: Box::new(x.into_node()),
            low: Box::new(low.into_node()),
            high: Box::new(high.into_node()),
        }
        .decimal_if(decimal),
    )
}

/// `COALESCE(a, b)`: `a`, or `b` where `a` is NULL.
pub fn coalesce<A: Operand, B: Operand>(a: A, b: B) -> Expr<B::Ty>
where
    B::Ty: SqlType<Class = <A::Ty as SqlType>::Class>,
{
    typed(ast::Expr::Func { func: Func::Coalesce, args: vec![a.into_node(), b.into_node()] })
}

/// `CASE WHEN c THEN a ELSE b END`, from `if c { a } else { b }`.
pub fn case<C: Condition, A: Operand, B: Operand>(c: C, a: A, b: B) -> Expr<A::Ty>
where
    B::Ty: SqlType<Class = <A::Ty as SqlType>::Class>,
{
    typed(ast::Expr::Case { when: vec![(c.into_node(), a.into_node())], otherwise: Box::new(b.into_node()) })
}

/// Operands of a raw SQL fragment.
pub trait RawArgs {
    /// The nodes, in order.
    fn into_nodes(self) -> Vec<ast::Expr>;
}

impl RawArgs for () {
    fn into_nodes(self) -> Vec<ast::Expr> {
        Vec::new()
    }
}

macro_rules! raw_args {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Operand),+> RawArgs for ($($t,)+) {
            fn into_nodes(self) -> Vec<ast::Expr> {
                vec![$(self.$i.into_node()),+]
            }
        }
    };
}
for_tuples_up_to_8!(raw_args);

/// A raw SQL fragment of type `T`: each `{}` in the template is replaced by one operand,
/// columns as their names and values as bound parameters.
///
/// ```
/// use nextorm_core::query::{raw_sql, val, Expr};
/// let price: Expr<f64> = Expr::column("p", "price");
/// let cond = raw_sql::<bool>("ABS({}) > {}", (price, val(&5.0)));
/// # let _ = cond;
/// ```
/// renders `ABS("p"."price") > ?` with the bind `5.0`. A template with a different number of
/// holes than operands renders as a condition that fails in the database with a clear message.
pub fn raw_sql<T: SqlType>(template: &'static str, args: impl RawArgs) -> Expr<T> {
    let args = args.into_nodes();
    let parts: Vec<ast::Name> = template.split("{}").map(ast::Name::from).collect();
    if parts.len() != args.len() + 1 {
        let msg = format!("raw_sql template has {} holes but {} operands were given", parts.len() - 1, args.len());
        return typed(ast::Expr::Value(Value::Invalid(msg)));
    }
    typed(ast::Expr::Raw { parts, args })
}

/// `SUBSTR`: the characters from `start` (0-based) to `end` (exclusive), like `s[start..end]`.
/// Bounds known in Rust are folded into the 1-based start and the length.
pub fn substr<S: Operand, A: Operand, B: Operand>(s: S, start: A, end: B) -> Expr<S::Ty>
where
    S::Ty: Textual,
    A::Ty: Numeric,
    B::Ty: Numeric,
{
    let (start, end) = (start.into_node(), end.into_node());
    let (from, len) = match (&start, &end) {
        (ast::Expr::Value(Value::Int(a)), ast::Expr::Value(Value::Int(b))) => (
            ast::Expr::Value(Value::Int(a.saturating_add(1))),
            ast::Expr::Value(Value::Int(b.saturating_sub(*a).max(0))),
        ),
        _ => (
            ast::Expr::binary(BinOp::Add, start.clone(), ast::Expr::Value(Value::Int(1))),
            ast::Expr::binary(BinOp::Sub, end, start),
        ),
    };
    typed(ast::Expr::Func { func: Func::Substr, args: vec![s.into_node(), from, len] })
}

/// `SUBSTR` from `start` (0-based) to the end, like `s[start..]`.
pub fn substr_from<S: Operand, A: Operand>(s: S, start: A) -> Expr<S::Ty>
where
    S::Ty: Textual,
    A::Ty: Numeric,
{
    let from = match start.into_node() {
        ast::Expr::Value(Value::Int(a)) => ast::Expr::Value(Value::Int(a.saturating_add(1))),
        other => ast::Expr::binary(BinOp::Add, other, ast::Expr::Value(Value::Int(1))),
    };
    let len = ast::Expr::Value(Value::Int(i64::from(i32::MAX)));
    typed(ast::Expr::Func { func: Func::Substr, args: vec![s.into_node(), from, len] })
}

/// An aggregate; over the members of a collection (`sum(c.orders.total)`) it is a correlated
/// subquery of its own, so an owner without members still has its row.
fn agg<T>(func: AggFunc, arg: ast::Expr, distinct: bool, decimal: bool) -> Expr<T> {
    let lifted = super::path_alias::mentions_collection(&arg);
    let node = ast::Expr::Agg { func, arg: Some(Box::new(arg)), distinct }.decimal_if(decimal);
    if lifted {
        typed(ast::Expr::Subquery(Box::new(ast::Select { columns: vec![node], ..ast::Select::default() })))
    } else {
        typed(node)
    }
}

/// `COUNT(*)`: the rows of the group.
pub fn count() -> Expr<i64> {
    typed(ast::Expr::CountStar)
}

/// What `count(x)` counts: the distinct values of an expression, or the members of a
/// collection (`count(c.orders)`).
pub trait Countable {
    /// The counting node.
    fn count_node(self) -> ast::Expr;
}

impl<X: Operand> Countable for X {
    fn count_node(self) -> ast::Expr {
        agg::<i64>(AggFunc::Count, self.into_node(), true, false).into_node()
    }
}

/// `COUNT(DISTINCT x)`: the distinct non-NULL values (Pony's `count(x)`); for a collection,
/// its members (see [`super::Coll::count`]).
pub fn count_of<X: Countable>(x: X) -> Expr<i64> {
    typed(x.count_node())
}

/// The type `sum` yields: the rank's type, never NULL (the sum of nothing is 0).
pub type SumOf<T> = <<T as Numeric>::Rank as Rank>::Out;
/// The type `avg` yields: a float, or a decimal for decimals; NULL over no rows.
pub type AvgOf<T> = Option<<<T as Numeric>::Rank as Rank>::Avg>;

/// `COALESCE(SUM(x), 0)`: the sum of nothing is 0, as in Pony.
pub fn sum<X: Operand>(x: X) -> Expr<SumOf<X::Ty>>
where
    X::Ty: Numeric,
{
    agg(AggFunc::Sum, x.into_node(), false, is_decimal::<X::Ty>())
}

/// `AVG(x)`: `None` over no rows.
pub fn avg<X: Operand>(x: X) -> Expr<AvgOf<X::Ty>>
where
    X::Ty: Numeric,
{
    agg(AggFunc::Avg, x.into_node(), false, is_decimal::<X::Ty>())
}

/// `MIN(x)`: `None` over no rows.
pub fn min<X: Operand>(x: X) -> Expr<Option<<X::Ty as SqlType>::NotNull>> {
    agg(AggFunc::Min, x.into_node(), false, is_decimal::<X::Ty>())
}

/// `MAX(x)`: `None` over no rows.
pub fn max<X: Operand>(x: X) -> Expr<Option<<X::Ty as SqlType>::NotNull>> {
    agg(AggFunc::Max, x.into_node(), false, is_decimal::<X::Ty>())
}

/// The values of the group joined by `separator`: `None` over no rows.
pub fn group_concat<X: Operand>(x: X, separator: &'static str) -> Expr<Option<String>> {
    agg(AggFunc::GroupConcat(separator.into()), x.into_node(), false, false)
}

/// A list of values for [`Expr::is_in`]: a slice, an array or a `Vec` of values, or a subquery.
pub trait InList<C> {
    /// The node testing membership of `expr`.
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr;
}

/// A bound list: `None` values are left out, since a NULL is equal to nothing (so
/// `x.not_in([Some(1), None])` is `x NOT IN (1)`, where SQL would make `x NOT IN (1, NULL)` NULL).
fn values_membership<V: BindAs>(values: &[V], expr: ast::Expr, negated: bool) -> ast::Expr {
    ast::Expr::InValues {
        expr: Box::new(expr),
        values: values.iter().map(|v| to_value_or_error(v)).filter(|v| !v.is_null()).collect(),
        kind: kind_of_bind::<V>(),
        negated,
    }
}

fn kind_of_bind<V: BindAs>() -> Kind {
    <V::Ty as SqlType>::KIND
}

/// `x.is_in(s.courses.name)`: membership among the values of a lifted attribute (Pony's
/// `x in s.courses.name`); over a plain column, equality.
///
/// ```text
/// ? IN (SELECT "s:courses"."name" FROM "course_student" "s:courses#" JOIN "course" "s:courses" ON ...
///     WHERE "s:courses#"."student_id" = "s"."id")
/// ```
impl<T: SqlType> InList<T::Class> for Expr<T> {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        // The members' NULLs are left out: a NULL is equal to nothing, and SQL's
        // `x NOT IN (..., NULL)` would be NULL.
        let filter = (nullable::<T>() && super::path_alias::mentions_collection(&self.node))
            .then(|| ast::Expr::IsNull { expr: Box::new(self.node.clone()), negated: true });
        let query = ast::Select { columns: vec![self.node], filter, ..ast::Select::default() };
        ast::Expr::InQuery { expr: Box::new(expr), query: Box::new(query), negated }
    }
}

impl<V: BindAs> InList<<V::Ty as SqlType>::Class> for &[V] {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        values_membership(self, expr, negated)
    }
}
impl<V: BindAs> InList<<V::Ty as SqlType>::Class> for &Vec<V> {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        values_membership(self, expr, negated)
    }
}
impl<V: BindAs> InList<<V::Ty as SqlType>::Class> for Vec<V> {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        values_membership(&self, expr, negated)
    }
}
impl<V: BindAs, const N: usize> InList<<V::Ty as SqlType>::Class> for [V; N] {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        values_membership(&self, expr, negated)
    }
}
impl<V: BindAs, const N: usize> InList<<V::Ty as SqlType>::Class> for &[V; N] {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        values_membership(self, expr, negated)
    }
}
macro_rules! date_part {
    ($($name:ident => $func:ident, $bound:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        pub fn $name(self) -> Expr<<T::Null as Nullness>::Apply<i64>>
        where
            T: $bound,
        {
            typed(ast::Expr::Func { func: Func::$func, args: vec![self.node] })
        }
    )*};
}

impl<T: SqlType> Expr<T> {
    /// `self = rhs`, in the closure form (`p.name.eq("Widget")`).
    pub fn eq<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        eq(self, rhs)
    }

    /// `self <> rhs`.
    pub fn ne<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        ne(self, rhs)
    }

    /// `self < rhs` (`p.price.lt(20)`).
    pub fn lt<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        lt(self, rhs)
    }

    /// `self <= rhs`.
    pub fn le<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        le(self, rhs)
    }

    /// `self > rhs`.
    pub fn gt<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        gt(self, rhs)
    }

    /// `self >= rhs`.
    pub fn ge<R: Operand>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>>
    where
        R::Ty: SqlType<Class = T::Class>,
    {
        ge(self, rhs)
    }

    /// `self IS NULL` (`x.is_none()` on an optional field).
    pub fn is_none(self) -> Expr<bool> {
        typed(ast::Expr::IsNull { expr: Box::new(self.node), negated: false })
    }

    /// `self IS NOT NULL`.
    pub fn is_some(self) -> Expr<bool> {
        typed(ast::Expr::IsNull { expr: Box::new(self.node), negated: true })
    }

    /// `self IN (...)`: a list of any length (long lists are one bind: an array on PostgreSQL,
    /// JSON elsewhere), or a subquery. An empty list matches nothing.
    pub fn is_in<L: InList<T::Class>>(self, list: L) -> Expr<<T::Null as Nullness>::Apply<bool>> {
        typed(list.membership(self.node.decimal_key_if(is_decimal::<T>()), false))
    }

    /// `self NOT IN (...)`. An empty list matches everything. NULL members are left out (a NULL
    /// equals nothing: `None` values of a list are dropped, a subquery or a collection gets
    /// `... WHERE col IS NOT NULL`), so a NULL member never makes the test unknown. A NULL `self`
    /// against a non-empty list or subquery is unknown, as with `!=`, and its row is not selected;
    /// against an empty one the test is true, as SQL has it.
    pub fn not_in<L: InList<T::Class>>(self, list: L) -> Expr<<T::Null as Nullness>::Apply<bool>> {
        typed(list.membership(self.node.decimal_key_if(is_decimal::<T>()), true))
    }

    date_part! {
        year => Year, Temporal, "The year (`EXTRACT(YEAR ...)`, `strftime('%Y', ...)`, `YEAR(...)`).";
        month => Month, Temporal, "The month, 1 to 12.";
        day => Day, Temporal, "The day of the month.";
        hour => Hour, TimeOfDay, "The hour, 0 to 23.";
        minute => Minute, TimeOfDay, "The minute.";
        second => Second, TimeOfDay, "The whole second.";
    }
}

impl<T: Textual> Expr<T> {
    fn like<N: Operand>(self, needle: N, mode: LikeMode) -> Expr<BoolOf<T, N::Ty>> {
        typed(ast::Expr::Like { expr: Box::new(self.node), needle: Box::new(needle.into_node()), mode })
    }

    /// Whether the text starts with `prefix`: `LIKE 'prefix%' ESCAPE '!'`, with `%`, `_` and `!`
    /// in the prefix escaped, so they match themselves.
    pub fn starts_with<N: Operand>(self, prefix: N) -> Expr<BoolOf<T, N::Ty>>
    where
        N::Ty: Textual,
    {
        self.like(prefix, LikeMode::Prefix)
    }

    /// Whether the text ends with `suffix` (an escaped `LIKE`).
    pub fn ends_with<N: Operand>(self, suffix: N) -> Expr<BoolOf<T, N::Ty>>
    where
        N::Ty: Textual,
    {
        self.like(suffix, LikeMode::Suffix)
    }

    /// Whether the text contains `needle` (an escaped `LIKE`); Pony's `needle in s`.
    pub fn contains<N: Operand>(self, needle: N) -> Expr<BoolOf<T, N::Ty>>
    where
        N::Ty: Textual,
    {
        self.like(needle, LikeMode::Contains)
    }

    /// `LOWER(self)`.
    pub fn to_lowercase(self) -> Expr<T> {
        typed(ast::Expr::Func { func: Func::Lower, args: vec![self.node] })
    }

    /// `UPPER(self)`.
    pub fn to_uppercase(self) -> Expr<T> {
        typed(ast::Expr::Func { func: Func::Upper, args: vec![self.node] })
    }

    /// `TRIM(self)`: without surrounding spaces.
    pub fn trim(self) -> Expr<T> {
        typed(ast::Expr::Func { func: Func::Trim, args: vec![self.node] })
    }

    /// The length in characters (`LENGTH`, `CHAR_LENGTH` on MariaDB).
    pub fn len(self) -> Expr<<T::Null as Nullness>::Apply<i64>> {
        typed(ast::Expr::Func { func: Func::Length, args: vec![self.node] })
    }

    /// Whether the text is empty (`self = ''`).
    pub fn is_empty(self) -> Expr<<T::Null as Nullness>::Apply<bool>> {
        typed(ast::Expr::binary(BinOp::Eq, self.node, ast::Expr::Value(Value::Text(String::new()))))
    }
}

impl<T: SqlType<Class = class::Boolean>> Expr<T> {
    /// `self AND rhs`, in the closure form: `p.price.lt(20).and(p.qty.gt(0))`.
    pub fn and<R: Condition>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>> {
        and(self, rhs)
    }

    /// `self OR rhs`.
    pub fn or<R: Condition>(self, rhs: R) -> Expr<BoolOf<T, R::Ty>> {
        or(self, rhs)
    }

    /// `NOT self` (with Pony's NULL rule for text tests, see [`not`]).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr<T> {
        not(self)
    }
}

impl<T: Numeric> Expr<T> {
    /// `ABS(self)`.
    pub fn abs(self) -> Expr<T> {
        typed(ast::Expr::Func { func: Func::Abs, args: vec![self.node] }.decimal_if(is_decimal::<T>()))
    }
}

/// A descending order key: `desc(p.price)`.
pub struct Desc<T>(pub Expr<T>);

/// Orders by `x` descending.
pub fn desc<T: SqlType>(x: Expr<T>) -> Desc<T> {
    Desc(x)
}

/// Keys for `order_by`: an expression (ascending), `desc(expr)`, or a tuple of them.
pub trait OrderKeys {
    /// Appends the keys.
    fn push_keys(self, out: &mut Vec<ast::OrderItem>);
}

pub(super) fn nullable<T: SqlType>() -> bool {
    std::any::TypeId::of::<T::Null>() == std::any::TypeId::of::<null::Yes>()
}

impl<T: SqlType> OrderKeys for Expr<T> {
    fn push_keys(self, out: &mut Vec<ast::OrderItem>) {
        out.push(ast::OrderItem {
            expr: self.node.decimal_key_if(is_decimal::<T>()),
            desc: false,
            nullable: nullable::<T>(),
        });
    }
}

impl<T: SqlType> OrderKeys for Desc<T> {
    fn push_keys(self, out: &mut Vec<ast::OrderItem>) {
        out.push(ast::OrderItem {
            expr: self.0.node.decimal_key_if(is_decimal::<T>()),
            desc: true,
            nullable: nullable::<T>(),
        });
    }
}

macro_rules! order_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: OrderKeys),+> OrderKeys for ($($t,)+) {
            fn push_keys(self, out: &mut Vec<ast::OrderItem>) {
                $(self.$i.push_keys(out);)+
            }
        }
    };
}
for_tuples_up_to_8!(order_tuple);
