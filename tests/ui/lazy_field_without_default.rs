use nextorm::prelude::*;

#[derive(DbEnum, Debug, Clone, PartialEq)]
enum Mood {
    Calm,
    Busy,
}

/// A lazy field holds its type's default until it is loaded: a type without `Default` is
/// reported on that field's type.
#[derive(Entity)]
struct Day {
    #[pk]
    id: i64,
    #[orm(lazy)]
    mood: Mood,
}

fn main() {}
