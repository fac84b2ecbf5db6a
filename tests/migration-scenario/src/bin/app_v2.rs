//! Version 2 of the scenario's app: a column renamed (with its hint), a type widened, a field
//! with a default and an index, a relation, and a many-to-many with a new entity.

use nextorm::prelude::*;

/// An author.
#[derive(Entity)]
pub struct Author {
    /// The key.
    #[pk]
    pub id: i64,
    /// `name` in version 1.
    #[orm(max_len = 40, renamed_from = "name")]
    pub full_name: String,
    /// An `i32` in version 1.
    pub born: i64,
    /// New, with an SQL default for the rows already there, and indexed.
    #[orm(sql_default = "0", index)]
    pub rating: i32,
    /// The posts whose author this is.
    pub posts: Set<Post>,
}

/// A post.
#[derive(Entity)]
pub struct Post {
    /// The key.
    #[pk]
    pub id: i64,
    /// 80 characters long in version 1.
    #[orm(max_len = 200)]
    pub title: String,
    /// The text.
    pub body: String,
    /// New: who wrote it; empty for the posts already there.
    pub author: Option<Single<Author>>,
    /// New: its tags.
    pub tags: Set<Tag>,
}

/// New: a tag, on many posts.
#[derive(Entity)]
pub struct Tag {
    /// The key.
    #[pk]
    pub id: i64,
    /// The label.
    #[orm(max_len = 30)]
    pub label: String,
    /// The posts tagged so.
    pub posts: Set<Post>,
}

fn main() -> std::process::ExitCode {
    nextorm::cli::main()
}
