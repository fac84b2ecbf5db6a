use nextorm::Entity;

#[derive(Entity)]
struct Note {
    title: String,
    body: String,
}

fn main() {}
