//! The progress of a `migrate`, printed as plain lines: each migration as it starts and ends,
//! each step as it completes, with the time taken.
//!
//! ```text
//! Applying 0002_add_author_rating_and_more (3 steps)
//!   [1/3] add column author.rating (4.1 ms)
//!   [2/3] add index idx_author__rating on author (2.0 ms)
//!   [3/3] alter column author.age (11.3 ms)
//! Applied 0002_add_author_rating_and_more in 18.2 ms
//! ```

use nextorm_core::migrate::Direction;
use nextorm_engine::{MigrationEvent, MigrationProgress};
use std::io::Write;
use std::time::Duration;

/// Prints each event as a line.
pub(crate) struct PrintedProgress<'a> {
    out: &'a mut (dyn Write + Send),
}

impl<'a> PrintedProgress<'a> {
    pub(crate) fn new(out: &'a mut (dyn Write + Send)) -> PrintedProgress<'a> {
        PrintedProgress { out }
    }
}

impl MigrationProgress for PrintedProgress<'_> {
    fn event(&mut self, event: &MigrationEvent<'_>) {
        if let Some(line) = describe(event) {
            // A closed output is not the migration's failure.
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }
}

/// The line an event prints.
fn describe(event: &MigrationEvent<'_>) -> Option<String> {
    let line = match *event {
        MigrationEvent::Started { name, direction, first_step, steps } => {
            let steps_word = if steps == 1 { "step" } else { "steps" };
            match (direction, first_step) {
                (Direction::Forwards, 1) => format!("Applying {name} ({steps} {steps_word})"),
                (Direction::Backwards, 1) => format!("Reverting {name} ({steps} {steps_word})"),
                (Direction::Forwards, k) => format!("Resuming {name} at step {k} of {steps}"),
                (Direction::Backwards, k) => format!("Undoing {name} from step {k} of {steps}"),
            }
        }
        MigrationEvent::StepDone { step, steps, description, elapsed, .. } => {
            format!("  [{step}/{steps}] {description} ({})", duration(elapsed))
        }
        MigrationEvent::Finished { name, direction, elapsed } => match direction {
            Direction::Forwards => format!("Applied {name} in {}", duration(elapsed)),
            Direction::Backwards => format!("Reverted {name} in {}", duration(elapsed)),
        },
        MigrationEvent::Skipped { name } => format!("Skipped {name}: another process ran it first"),
        MigrationEvent::Faked { name, direction } => match direction {
            Direction::Forwards => format!("Faked {name}: recorded as applied, nothing run"),
            Direction::Backwards => format!("Faked {name}: recorded as reverted, nothing run"),
        },
        _ => return None,
    };
    Some(line)
}

/// `4.1 ms`, `2.35 s`.
fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_one_line_each_with_the_time_taken() {
        let started =
            MigrationEvent::Started { name: "0001_a", direction: Direction::Forwards, first_step: 1, steps: 2 };
        assert_eq!(describe(&started).unwrap(), "Applying 0001_a (2 steps)");
        let resumed =
            MigrationEvent::Started { name: "0001_a", direction: Direction::Forwards, first_step: 2, steps: 2 };
        assert_eq!(describe(&resumed).unwrap(), "Resuming 0001_a at step 2 of 2");
        let step = MigrationEvent::StepDone {
            name: "0001_a",
            step: 1,
            steps: 2,
            description: "create table post",
            elapsed: Duration::from_micros(4100),
        };
        assert_eq!(describe(&step).unwrap(), "  [1/2] create table post (4.1 ms)");
        let done = MigrationEvent::Finished {
            name: "0001_a",
            direction: Direction::Backwards,
            elapsed: Duration::from_millis(2350),
        };
        assert_eq!(describe(&done).unwrap(), "Reverted 0001_a in 2.35 s");
        assert_eq!(
            describe(&MigrationEvent::Skipped { name: "0001_a" }).unwrap(),
            "Skipped 0001_a: another process ran it first"
        );
    }
}
