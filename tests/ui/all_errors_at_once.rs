use nextorm::Entity;

#[derive(Entity)]
#[orm(unique(name, sku))]
struct Item {
    #[orm(max_len = 8)]
    count: i32,
    #[orm(colour = "red")]
    name: String,
}

fn main() {}
