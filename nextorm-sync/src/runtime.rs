//! How the blocking facade drives the shared async code: on SQLite with a trivial executor (the
//! futures are ready at once; no runtime, no thread hop), on PostgreSQL and MariaDB with a
//! current-thread tokio runtime the database owns.

use nextorm_core::{Error, Result};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread until it completes, parking between polls. SQLite futures complete
/// on the first poll, which costs no allocation: the parking waker is made only if it pends.
pub(crate) fn block_now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return out;
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Where the blocking facade runs futures. Cloned into sessions, which outlive no database they
/// need but may outlive the `Database` value itself.
#[derive(Clone)]
pub(crate) enum Driver {
    /// SQLite: on the caller's thread.
    Inline,
    /// PostgreSQL, MariaDB: on the owned runtime.
    Runtime(Arc<tokio::runtime::Runtime>),
}

impl Driver {
    pub(crate) fn for_server() -> Result<Driver> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| Driver::Runtime(Arc::new(rt)))
            .map_err(|e| Error::config(format!("cannot start the runtime for the database driver: {e}")))
    }

    /// Runs `fut` to completion. Inside a tokio runtime the sqlx drivers cannot be driven by a
    /// blocking call, so that is an error rather than a panic.
    pub(crate) fn block<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match self {
            Driver::Inline => block_now(fut),
            Driver::Runtime(rt) => {
                if tokio::runtime::Handle::try_current().is_ok() {
                    return Err(Error::config(
                        "the blocking Database was called from inside an async runtime; use AsyncDatabase there",
                    ));
                }
                rt.block_on(fut)
            }
        }
    }

    /// Drops `value` where sqlx objects may be dropped: inside the runtime's context.
    pub(crate) fn drop_inside<T>(&self, value: T) {
        match self {
            Driver::Inline => drop(value),
            Driver::Runtime(rt) => {
                let _guard = rt.enter();
                drop(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_now_waits_for_a_wake_from_another_thread() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let t = std::thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(block_now(rx).unwrap(), 7);
        t.join().unwrap();
    }
}
