//! Version 1 of the scenario's app: authors and posts, and the `nextorm` command over them.

use nextorm::prelude::*;

/// An author.
#[derive(Entity)]
pub struct Author {
    /// The key.
    #[pk]
    pub id: i64,
    /// Renamed `full_name` in version 2.
    #[orm(max_len = 40)]
    pub name: String,
    /// An `i64` in version 2.
    pub born: i32,
}

/// A post.
#[derive(Entity)]
pub struct Post {
    /// The key.
    #[pk]
    pub id: i64,
    /// 200 characters long in version 2.
    #[orm(max_len = 80)]
    pub title: String,
    /// The text.
    pub body: String,
}

fn main() -> std::process::ExitCode {
    nextorm::cli::main()
}
