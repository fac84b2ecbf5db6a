use nextorm::DbEnum;

#[derive(DbEnum)]
enum Status {
    Active,
    #[orm(rename = "Active")]
    Enabled,
}

fn main() {}
