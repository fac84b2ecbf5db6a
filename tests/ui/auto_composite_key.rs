use nextorm::Entity;

#[derive(Entity)]
struct Line {
    #[pk(auto = true)]
    order: i64,
    #[pk]
    line: i32,
}

fn main() {}
