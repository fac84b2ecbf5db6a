//! `check`: the live schema compared with the entities linked into the program, one line per
//! difference (a missing table or column, a type, nullability, a key, an index).

use crate::console::Console;
use crate::database::with_database;
use crate::exit::Exit;
use nextorm_core::{Error, Result, registered_entities};

/// How to give a program its entities, for a binary that has none.
const NO_ENTITIES: &str = "check compares the database with the entities, and none are linked into this program: \
    add `src/bin/nextorm.rs` to your crate with `fn main() -> std::process::ExitCode { nextorm::cli::main() }` \
    (nextorm's `cli` feature; with `use your_crate as _;` when the entities are in its library)";

/// Prints every difference; [`Exit::Differs`] when there is one.
pub(super) fn run(url: &str, console: &mut Console<'_>) -> Result<Exit> {
    let entities = registered_entities();
    if entities.is_empty() {
        return Err(Error::config(NO_ENTITIES));
    }
    let differences = with_database(url, &entities, async |db| db.schema_differences().await)?;
    if differences.is_empty() {
        console.line(format_args!("The database matches the {} entities", entities.len()));
        return Ok(Exit::Done);
    }
    console.line(format_args!("The database differs from the entities in {} ways:", differences.len()));
    for d in &differences {
        console.line(format_args!("  - {d}"));
    }
    Ok(Exit::Differs)
}
