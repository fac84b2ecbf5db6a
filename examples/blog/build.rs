//! Rebuilds the program when a migration file is added, so that `migrations!` embeds it
//! (`include_str!` alone tracks the files that were there).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
