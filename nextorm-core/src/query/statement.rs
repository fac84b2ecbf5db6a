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
    /// Whether it locks the rows it reads (`FOR UPDATE`): a session opens its transaction
    /// before sending it, so the lock lasts until the commit.
    pub locks: bool,
}

impl Stmt {
    /// `statement` rendered for `dialect`, uncached.
    pub fn render(statement: &ast::Statement, dialect: Dialect) -> Stmt {
        let sql = crate::render::render(statement, dialect);
        let locks = matches!(statement, ast::Statement::Select(s) if s.lock.is_some());
        Stmt { text: sql.text.into(), binds: sql.binds, locks }
    }
}
