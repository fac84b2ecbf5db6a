use nextorm::{Entity, Set, Single};

/// `lazy` and `volatile` on fields they cannot apply to: each error points at the option.
#[derive(Entity)]
struct Article {
    #[orm(lazy)]
    id: i64,
    #[orm(lazy)]
    author: Single<Author>,
    #[orm(lazy, volatile)]
    tags: Set<Tag>,
}

#[derive(Entity)]
struct Author {
    id: i64,
}

#[derive(Entity)]
struct Code {
    #[pk]
    #[orm(volatile)]
    code: String,
}

#[derive(Entity)]
struct Tag {
    id: i64,
    #[orm(lazy = true)]
    name: String,
    #[orm(volatile)]
    editor: Option<Single<Editor>>,
}

#[derive(Entity)]
struct Editor {
    id: i64,
}

fn main() {}
