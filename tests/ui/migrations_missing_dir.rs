// The migrations directory is read at compile time: a missing one is an error on the literal.
static MIGRATIONS: nextorm::migrate::EmbeddedMigrations = nextorm::migrations!("no_such_migrations");

fn main() {
    let _ = MIGRATIONS.files();
}
