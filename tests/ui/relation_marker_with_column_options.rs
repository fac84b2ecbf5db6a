use nextorm::{Entity, HasOne, Set};

#[derive(Entity)]
struct Person {
    id: i64,
    #[orm(column = "passport_id")]
    passport: HasOne<Passport>,
    #[orm(unique, cascade_delete = false)]
    visas: Set<Visa>,
}

#[derive(Entity)]
struct Passport {
    id: i64,
}

#[derive(Entity)]
struct Visa {
    id: i64,
}

fn main() {}
