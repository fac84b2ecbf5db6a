//! The blog's `nextorm` command: `cargo run --bin blog-nextorm -- makemigrations` (in an
//! application, the binary is named `nextorm`). The `use` links the library, whose entities
//! register themselves at link time.

use blog as _;

fn main() -> std::process::ExitCode {
    nextorm::cli::main()
}
