//! Where the command prints: its output, and errors with the exit code they lead to.

use crate::exit::Exit;
use nextorm_core::Error;
use std::io::Write;

/// The command's output and error streams.
pub(crate) struct Console<'a> {
    out: &'a mut (dyn Write + Send),
    err: &'a mut (dyn Write + Send),
}

impl<'a> Console<'a> {
    pub(crate) fn new(out: &'a mut (dyn Write + Send), err: &'a mut (dyn Write + Send)) -> Console<'a> {
        Console { out, err }
    }

    /// Prints a line of output. A closed output (a pipe whose reader left) is not the command's
    /// failure, so write errors are ignored.
    pub(crate) fn line(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{text}");
    }

    /// The output stream, for the progress of a `migrate`.
    pub(crate) fn out(&mut self) -> &mut (dyn Write + Send) {
        self.out
    }

    /// Prints `error` whole (it names the migration, the step, the SQL and the database's
    /// message) and returns the exit code its kind leads to.
    pub(crate) fn error(&mut self, error: &Error) -> Exit {
        let _ = writeln!(self.err, "error: {error}");
        Exit::of(error.kind())
    }

    /// Prints clap's help, version or usage error and returns its exit code (0 for help and
    /// version, 2 for a usage error).
    pub(crate) fn clap_error(&mut self, error: &clap::Error) -> Exit {
        let text = error.render();
        if error.use_stderr() {
            let _ = write!(self.err, "{text}");
            Exit::Usage
        } else {
            let _ = write!(self.out, "{text}");
            Exit::Done
        }
    }
}
