use nextorm::Entity;

#[derive(Entity)]
struct Country {
    #[pk(auto = true)]
    code: String,
}

fn main() {}
