//! The blog's model: authors and their posts. The `nextorm` binary (`src/bin/nextorm.rs`) links
//! this library, so `makemigrations` sees these entities; `src/main.rs` applies the migrations
//! made from them at startup.

use nextorm::prelude::*;

/// Someone who writes posts.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Author {
    /// The key, chosen by the database.
    #[pk]
    pub id: i64,
    /// The name, unique.
    #[orm(max_len = 80, unique)]
    pub name: String,
    /// The author's posts.
    pub posts: Set<Post>,
}

/// A post by one author.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Post {
    /// The key, chosen by the database.
    #[pk]
    pub id: i64,
    /// The title.
    #[orm(max_len = 200)]
    pub title: String,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: Single<Author>,
    /// How many readers liked it; 0 for a new post.
    #[orm(sql_default = "0")]
    pub likes: i32,
}
