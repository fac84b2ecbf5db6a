//! What a query ranges over and what it returns: [`Source`], an entity with its typed column
//! handles, and [`Projection`], what one row decodes to (an entity, an expression, a tuple).

use super::expr::Expr;
use super::types::SqlType;
use crate::ast;
use crate::error::Result;
use crate::session::{Attach, IdentityMap, SessionEntity};
use crate::value::{FromSql, RowRead, decode_column};

/// An entity that queries can range over. Implemented by `#[derive(Entity)]`.
pub trait Source: SessionEntity {
    /// The typed column handles of one occurrence of the entity in a query.
    type Fields: Clone + Projection<Output = Self> + Send + Sync + 'static;
    /// The handles for the occurrence aliased `alias`.
    fn fields(alias: &'static str) -> Self::Fields;
}

/// What a query returns per row: an entity (its handles), an expression, or a tuple of them.
pub trait Projection {
    /// The Rust value of one row (in a session, its [`Attach::Attached`] form).
    type Output: Attach;
    /// Appends the projected expressions.
    fn push_columns(self, out: &mut Vec<ast::Expr>);
    /// Decodes one row from column `offset` on.
    fn decode(row: &dyn RowRead, offset: usize) -> Result<Self::Output>;
    /// The number of columns.
    fn width() -> usize;
    /// Whether this is exactly one whole entity.
    fn is_entity() -> bool {
        false
    }
    /// Appends the positions (from `offset` on) of the entities' `lazy` columns, which a
    /// session's query leaves out.
    fn lazy_columns(offset: usize, out: &mut Vec<usize>) {
        let _ = (offset, out);
    }
}

/// A value row stays a value in a session.
impl<T: SqlType + Send + 'static> Attach for T {
    type Attached = T;

    fn attach(self, _map: &mut IdentityMap) -> Result<T> {
        Ok(self)
    }
}

impl<T: SqlType + FromSql + Send + 'static> Projection for Expr<T> {
    type Output = T;
    fn push_columns(self, out: &mut Vec<ast::Expr>) {
        out.push(self.into_node());
    }
    fn decode(row: &dyn RowRead, offset: usize) -> Result<T> {
        decode_column(row, offset)
    }
    fn width() -> usize {
        1
    }
}

macro_rules! projection_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Projection),+> Projection for ($($t,)+) {
            type Output = ($($t::Output,)+);
            fn push_columns(self, out: &mut Vec<ast::Expr>) {
                $(self.$i.push_columns(out);)+
            }
            #[allow(unused_assignments)]
            fn decode(row: &dyn RowRead, offset: usize) -> Result<Self::Output> {
                let mut at = offset;
                Ok(($({
                    let v = $t::decode(row, at)?;
                    at += $t::width();
                    v
                },)+))
            }
            fn width() -> usize {
                0 $(+ $t::width())+
            }
            #[allow(unused_assignments)]
            fn lazy_columns(offset: usize, out: &mut Vec<usize>) {
                let mut at = offset;
                $(
                    $t::lazy_columns(at, out);
                    at += $t::width();
                )+
            }
        }
    };
}
for_tuples_up_to_8!(projection_tuple);
