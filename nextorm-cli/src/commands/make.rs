//! `makemigrations`: the next migration from the entities linked into the program, diffed
//! against the directory's snapshot. No database is needed.

use crate::console::Console;
use crate::dir::MigrationDir;
use nextorm_core::migrate::{Migrations, RenameHints, SNAPSHOT_FILE, Schema};
use nextorm_core::{Dialect, EntityMeta, Error, Result, registered_entities, schema};

/// How to give a program its entities, for a binary that has none.
const NO_ENTITIES: &str = "makemigrations needs the entities, and none are linked into this program: add \
    `src/bin/nextorm.rs` to your crate with `fn main() -> std::process::ExitCode { nextorm::cli::main() }` \
    (nextorm's `cli` feature; with `use your_crate as _;` when the entities are in its library) and run \
    `cargo run --bin nextorm -- makemigrations`";

/// Writes the next migration (or an empty one) and moves the snapshot on.
pub(super) fn run(
    dir: &MigrationDir<'_>,
    name: Option<&str>,
    empty: bool,
    url: Option<&str>,
    console: &mut Console<'_>,
) -> Result<()> {
    let (migrations, snapshot) = current(dir)?;
    if empty {
        let migration = migrations.make_empty(name.unwrap_or("custom"))?;
        let path = dir.create(&migration.file_name(), &migration.to_toml()?)?;
        console.line(format_args!("Created {}: no operations, to fill by hand", path.display()));
        return write_snapshot_if_missing(dir, &snapshot, console);
    }
    let entities = registered_entities();
    if entities.is_empty() {
        return Err(Error::config(NO_ENTITIES));
    }
    check_mapping(&entities, url)?;
    let target = Schema::from_entities(&entities)?;
    let hints = RenameHints::from_entities(&entities);
    let Some(made) = migrations.make(&snapshot.schema, &target, &hints, name)? else {
        console.line("No changes detected");
        return write_snapshot_if_missing(dir, &snapshot, console);
    };
    let path = dir.create(&made.migration.file_name(), &made.migration.to_toml()?)?;
    dir.write_snapshot(&made.snapshot.to_snapshot()?)?;
    console.line(format_args!("Created {}:", path.display()));
    for op in &made.migration.operations {
        console.line(format_args!("  - {}", op.describe()));
    }
    Ok(())
}

/// The snapshot the next migration starts from, and whether the file was there.
struct Snapshot {
    schema: Schema,
    on_disk: bool,
}

/// The directory's migrations and snapshot, checked against each other. A missing snapshot is
/// the schema the migrations build.
fn current(dir: &MigrationDir<'_>) -> Result<(Migrations, Snapshot)> {
    if !dir.exists() {
        return Ok((Migrations::default(), Snapshot { schema: Schema::default(), on_disk: false }));
    }
    let contents = dir.read()?;
    let snapshot = match &contents.snapshot {
        Some(text) => {
            let schema = Schema::parse_snapshot(text).map_err(|e| e.context(dir.file(SNAPSHOT_FILE).display()))?;
            contents.migrations.check_snapshot(&schema)?;
            Snapshot { schema, on_disk: true }
        }
        None => Snapshot { schema: contents.migrations.schema()?, on_disk: false },
    };
    Ok((contents.migrations, snapshot))
}

/// A directory without a snapshot gets one, made from its migrations.
fn write_snapshot_if_missing(dir: &MigrationDir<'_>, snapshot: &Snapshot, console: &mut Console<'_>) -> Result<()> {
    if snapshot.on_disk || snapshot.schema.tables.is_empty() {
        return Ok(());
    }
    dir.write_snapshot(&snapshot.schema.to_snapshot()?)?;
    console.line(format_args!("Wrote {}, which was missing, from the migrations", dir.file(SNAPSHOT_FILE).display()));
    Ok(())
}

/// Checks that the entities map: on the dialect of `url` when one is given (its identifier
/// limits), on SQLite otherwise (what every dialect requires: tables, columns, relations).
fn check_mapping(entities: &[&'static EntityMeta], url: Option<&str>) -> Result<()> {
    let dialect = match url {
        Some(url) => nextorm_engine::dialect_of_url(url)?,
        None => Dialect::Sqlite,
    };
    schema::validate(entities, dialect)
}
