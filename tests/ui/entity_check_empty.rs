use nextorm::Entity;

// A table check needs a condition; a blank one is refused on its literal.
#[derive(Entity)]
#[orm(check = "lo <= hi", check = "  ")]
struct Span {
    #[pk]
    id: i64,
    lo: i32,
    hi: i32,
}

fn main() {}
