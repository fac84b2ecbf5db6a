use nextorm::DbEnum;

#[derive(DbEnum)]
enum Shape {
    Circle,
    Square(u32),
}

fn main() {}
