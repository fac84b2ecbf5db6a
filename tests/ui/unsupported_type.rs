use nextorm::Entity;
use std::collections::HashMap;

#[derive(Entity)]
struct Config {
    id: i64,
    values: HashMap<String, String>,
}

fn main() {}
