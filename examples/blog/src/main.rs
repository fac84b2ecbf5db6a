//! The blog: opens its SQLite database (`DATABASE_URL`, default `sqlite:blog.db`), applies the
//! pending migrations embedded in the program at startup, then writes and reads a post.

use blog::{Author, Post};
use nextorm::migrate::EmbeddedMigrations;
use nextorm::prelude::*;

/// The files of `migrations/`, included at compile time.
static MIGRATIONS: EmbeddedMigrations = nextorm::migrations!("migrations");

fn main() -> nextorm::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite:blog.db".to_owned());
    let db = Database::open(&url)?;
    let report = db.migrate(&MIGRATIONS)?;
    for name in &report.applied {
        println!("applied migration {name}");
    }
    // The tables come from the migrations; this only checks that the entities map onto them.
    db.generate_mapping(CreateTables::No)?;

    let name = "Ada";
    let author = match select!(a for a in Author if a.name == name).fetch_optional(&db)? {
        Some(author) => author,
        None => {
            let mut author = Author { name: name.into(), ..Default::default() };
            db.insert(&mut author)?;
            author
        }
    };
    let mut post = Post {
        id: 0,
        title: "Notes on the analytical engine".into(),
        body: "It might act upon other things besides number.".into(),
        author: Single::from(&author),
        likes: 0,
    };
    db.insert(&mut post)?;
    let author_id = author.id;
    let count: i64 = select!(count() for p in Post if p.author.id == author_id).fetch_one(&db)?;
    println!("{} has written {count} posts; the latest is \"{}\"", author.name, post.title);
    Ok(())
}
