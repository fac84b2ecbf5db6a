//! The standalone `nextorm` binary: every command that needs no entities (`migrate`,
//! `showmigrations`, `sqlmigrate`). `makemigrations` needs a crate's own one-line binary, which
//! links its entities.

fn main() -> std::process::ExitCode {
    nextorm_cli::main()
}
