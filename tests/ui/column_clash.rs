use nextorm::Entity;

#[derive(Entity)]
struct Person {
    id: i64,
    name: String,
    #[orm(column = "name")]
    nickname: String,
}

fn main() {}
