//! A statement rendered for one dialect, ready to run.

use crate::ast;
use crate::dialect::Dialect;
use crate::value::Value;
use std::sync::Arc;

/// A rendered statement ready to run: its text for one dialect and its binds.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The SQL text.
    pub text: Arc<str>,
    /// The values of its placeholders, in order.
    pub binds: Vec<Value>,
}

impl Stmt {
    /// `statement` rendered for `dialect`, uncached.
    pub fn render(statement: &ast::Statement, dialect: Dialect) -> Stmt {
        let sql = crate::render::render(statement, dialect);
        Stmt { text: sql.text.into(), binds: sql.binds }
    }
}
