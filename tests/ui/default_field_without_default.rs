use nextorm::prelude::*;

#[derive(DbEnum, Debug, Clone, PartialEq)]
enum Mood {
    Calm,
    Busy,
}

/// `#[orm(default = ..)]` generates `Default`: a field whose type has none is reported on that
/// field's type, not on the derive.
#[derive(Entity)]
struct Day {
    #[pk]
    id: i64,
    #[orm(default = 8)]
    hours: i32,
    mood: Mood,
}

fn main() {}
