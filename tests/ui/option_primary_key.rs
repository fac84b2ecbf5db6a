use nextorm::Entity;

#[derive(Entity)]
struct Session {
    #[pk]
    token: Option<String>,
}

fn main() {}
