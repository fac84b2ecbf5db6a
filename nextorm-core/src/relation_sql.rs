//! The statements of relations: the `FROM` items and ties that reach a collection's members
//! (`Link::members_from`), and the statements that load members, load many-to-many pairs of
//! several owners at once, and count members.

use crate::ast::{self, FromItem, Join};
use crate::entity::meta::RelationMeta;
use crate::entity::relation::{Link, set_link};
use crate::entity::{Entity, EntityMeta};
use crate::error::{Error, Result};
use crate::query::statement::Stmt;
use crate::value::{Kind, RowRead, Value};

impl Link {
    /// The `FROM` items that reach the members under `alias`, and the condition tying them to
    /// the owner whose key is `owner_key` (the key columns of an enclosing query, or bound
    /// values). The first item is plain; the others are joined to it.
    ///
    /// ```text
    /// -- one-to-many (Customer.orders), alias "o":
    /// FROM "order" "o"                                   WHERE "o"."customer" = <owner key>
    /// -- many-to-many (Student.courses), alias "c":
    /// FROM "course_student" "c#" JOIN "course" "c" ON "c#"."course_name" = "c"."name" AND ...
    ///                                                    WHERE "c#"."student_id" = <owner key>
    /// ```
    pub fn members_from(&self, alias: &str, owner_key: Vec<ast::Expr>) -> (Vec<FromItem>, ast::Expr) {
        let item = |table: &str, alias: String, join: Option<Join>| FromItem {
            table: table.to_owned().into(),
            alias: Some(alias.into()),
            query: None,
            join,
        };
        match self {
            Link::Reverse { target, fk } => {
                let fk = ast::Expr::qualified(alias.to_owned(), target.columns[*fk].name);
                let owner = owner_key.into_iter().next().unwrap_or(ast::Expr::Value(Value::Null(Kind::Int)));
                (vec![item(target.table, alias.to_owned(), None)], fk.eq(owner))
            }
            Link::Table { target, table } => {
                let link = join_alias(alias);
                let tie = all_equal(
                    table.owner_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    owner_key,
                );
                let on = all_equal(
                    table.target_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    target.key_columns().map(|k| ast::Expr::qualified(alias.to_owned(), k.name)),
                );
                let join = Some(Join { left: false, on });
                (vec![item(&table.name, link, None), item(target.table, alias.to_owned(), join)], tie)
            }
        }
    }

    /// The `FROM` item of the join table alone and the condition tying it to the owner, with
    /// the member's key columns: enough to test membership without reading the members.
    pub fn pairs_from(&self, alias: &str, owner_key: Vec<ast::Expr>) -> (Vec<FromItem>, ast::Expr, Vec<ast::Expr>) {
        match self {
            Link::Table { table, .. } => {
                let link = join_alias(alias);
                let tie = all_equal(
                    table.owner_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    owner_key,
                );
                let keys = table.target_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())).collect();
                let item =
                    FromItem { table: table.name.clone().into(), alias: Some(link.into()), query: None, join: None };
                (vec![item], tie, keys)
            }
            Link::Reverse { target, .. } => {
                let (items, tie) = self.members_from(alias, owner_key);
                let keys = target.key_columns().map(|k| ast::Expr::qualified(alias.to_owned(), k.name)).collect();
                (items, tie, keys)
            }
        }
    }
}

/// The alias of the join table that reaches the members aliased `alias`.
pub(crate) fn join_alias(alias: &str) -> String {
    format!("{alias}#")
}

/// `l1 = r1 AND l2 = r2 ...`; `l = (r1, r2)` is never built.
pub fn all_equal(left: impl IntoIterator<Item = ast::Expr>, right: impl IntoIterator<Item = ast::Expr>) -> ast::Expr {
    let mut pairs = left.into_iter().zip(right).map(|(l, r)| l.eq(r));
    let first = pairs.next().unwrap_or(ast::Expr::Value(Value::Bool(false)));
    pairs.fold(first, ast::Expr::and)
}

/// The statement that counts the members of the collection `relation` of the owner (of entity
/// `owner`) whose key is `owner_key`, reading only the join table of a many-to-many relation.
///
/// ```text
/// SELECT COUNT(*) FROM "order" "order" WHERE "order"."customer" = ?
/// SELECT COUNT(*) FROM "course_student" "course#" WHERE "course#"."student_id" = ?
/// ```
pub(crate) fn count_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_key: Vec<Value>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let link = set_link(owner, relation)?;
    let (from, tie, _) = link.pairs_from(link.target().table, owner_key.into_iter().map(ast::Expr::Value).collect());
    Ok(crate::crud::select_statement(
        ast::Select { columns: vec![ast::Expr::CountStar], from, filter: Some(tie), ..ast::Select::default() },
        dialect,
    ))
}

/// The statement that loads the members of the collection `relation` of the owner whose key is
/// `owner_key`.
///
/// ```text
/// SELECT "order"."id", ... FROM "order" "order" WHERE "order"."customer" = ?
/// SELECT "course"."name", ... FROM "course_student" "course#"
///     JOIN "course" "course" ON "course#"."course_name" = "course"."name" AND ... WHERE "course#"."student_id" = ?
/// ```
pub fn members_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_key: Vec<Value>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let link = set_link(owner, relation)?;
    let target = link.target();
    let (from, tie) = link.members_from(target.table, owner_key.into_iter().map(ast::Expr::Value).collect());
    let columns = target.columns.iter().map(|c| ast::Expr::qualified(target.table, c.name)).collect();
    Ok(crate::crud::select_statement(
        ast::Select { columns, from, filter: Some(tie), ..ast::Select::default() },
        dialect,
    ))
}

/// The statement that loads the many-to-many collections of several owners at once: each
/// member's columns, then the key of the owner it pairs with (read by [`decode_pair`]).
///
/// ```text
/// SELECT "course"."name", ..., "course#"."student_id" FROM "course_student" "course#"
///     JOIN "course" "course" ON "course#"."course_name" = "course"."name" AND ...
///     WHERE "course#"."student_id" IN (?, ?, ?)
/// ```
pub fn pairs_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_keys: Vec<Vec<Value>>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let link = set_link(owner, relation)?;
    let Link::Table { target, table } = &link else {
        return Err(Error::internal(format!("{}.{} is not many-to-many", owner.name, relation.field)));
    };
    let alias = target.table;
    let (from, _) = link.members_from(alias, Vec::new());
    let pair = join_alias(alias);
    let owner_columns: Vec<ast::Expr> =
        table.owner_columns.iter().map(|c| ast::Expr::qualified(pair.clone(), c.clone())).collect();
    let filter = match owner_columns.as_slice() {
        [column] => ast::Expr::InValues {
            expr: Box::new(column.clone()),
            kind: owner_keys.first().and_then(|k| k.first()).map_or(Kind::Int, Value::kind),
            values: owner_keys.into_iter().flatten().collect(),
            negated: false,
        },
        _ => owner_keys
            .into_iter()
            .map(|k| all_equal(owner_columns.iter().cloned(), k.into_iter().map(ast::Expr::Value)))
            .reduce(|a, b| ast::Expr::binary(ast::BinOp::Or, a, b))
            .unwrap_or(ast::Expr::Value(Value::Bool(false))),
    };
    // A session loads these members: their lazy columns are left out.
    let columns = target
        .columns
        .iter()
        .map(|c| crate::crud::unless_lazy(c, ast::Expr::qualified(alias, c.name)))
        .chain(owner_columns)
        .collect();
    Ok(crate::crud::select_statement(
        ast::Select { columns, from, filter: Some(filter), ..ast::Select::default() },
        dialect,
    ))
}

/// Decodes a row of [`pairs_statement`]: the member, and the key of its owner `O`.
pub fn decode_pair<T: Entity, O: Entity>(row: &dyn RowRead, _offset: usize) -> Result<(T, Vec<Value>)> {
    let member = T::from_row_at(row, 0)?;
    let width = T::meta().columns.len();
    let key = O::meta()
        .key_columns()
        .enumerate()
        .map(|(i, c)| crate::value::read_value(row, width + i, c.ty))
        .collect::<Result<Vec<Value>>>()?;
    Ok((member, key))
}
