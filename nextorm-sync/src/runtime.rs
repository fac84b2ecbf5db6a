//! How the blocking facade drives the engine's async code: on SQLite with a trivial executor (the
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

/// The error of a blocking call made from async code.
fn called_from_async_code() -> Error {
    Error::config(
        "the blocking Database was called from async code inside a tokio runtime; use AsyncDatabase there, \
         or call the blocking Database inside tokio::task::spawn_blocking",
    )
}

/// Whether this thread may block on the database. Tokio offers no question for it, so it is
/// answered from what is visible: no tokio context at all (an ordinary thread); or a task with
/// no scheduler behind it, which is a `spawn_blocking` closure. Code polled by `block_on`
/// (`#[tokio::main]`, `#[tokio::test]`) has no task id, and an async task has a scheduler that
/// defers a yield instead of waking at once.
pub(crate) fn may_block_here() -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return true;
    }
    tokio::task::try_id().is_some() && !polled_by_a_scheduler()
}

/// Whether a scheduler is polling the current code: a tokio yield is deferred by a scheduler and
/// woken at once without one.
fn polled_by_a_scheduler() -> bool {
    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let flag = Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let _ = pin!(tokio::task::yield_now()).poll(&mut Context::from_waker(&waker));
    !flag.0.load(std::sync::atomic::Ordering::Relaxed)
}

/// The current-thread runtime a server database owns. It is shut down without waiting, because
/// the last handle may be dropped in async code, where a waiting shutdown panics.
pub(crate) struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("the runtime is present until drop")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// How the blocking facade runs the engine's futures to completion: inline on SQLite, on the
/// owned runtime on a server. Cloned into sessions, which outlive no database they need but may
/// outlive the `Database` value itself.
#[derive(Clone)]
pub(crate) enum FutureRunner {
    /// SQLite: on the caller's thread.
    Inline,
    /// PostgreSQL, MariaDB: on the owned runtime.
    Runtime(Arc<OwnedRuntime>),
}

impl FutureRunner {
    /// The runner of a server database. From async code that is an error: the database could
    /// not be used there.
    pub(crate) fn for_server() -> Result<FutureRunner> {
        if !may_block_here() {
            return Err(called_from_async_code());
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| FutureRunner::Runtime(Arc::new(OwnedRuntime(Some(rt)))))
            .map_err(|e| Error::config(format!("cannot start the runtime for the database driver: {e}")))
    }

    /// Runs `fut` to completion. From async code the sqlx drivers cannot be driven by a blocking
    /// call, so that is an error rather than a panic.
    pub(crate) fn block<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match self {
            FutureRunner::Inline => block_now(fut),
            FutureRunner::Runtime(rt) => {
                let rt = rt.get();
                if tokio::runtime::Handle::try_current().is_err() {
                    rt.block_on(fut)
                } else if may_block_here() {
                    block_beside(rt, fut)
                } else {
                    Err(called_from_async_code())
                }
            }
        }
    }

    /// Drops `value` where sqlx objects may be dropped: inside the runtime's context.
    pub(crate) fn drop_inside<T>(&self, value: T) {
        match self {
            FutureRunner::Inline => drop(value),
            FutureRunner::Runtime(rt) => {
                let _guard = rt.get().enter();
                drop(value);
            }
        }
    }
}

/// Runs `fut` on this thread while a helper thread turns the runtime's IO and timer drivers.
/// Used inside `spawn_blocking`: that thread belongs to another runtime, whose context makes
/// `Runtime::block_on` refuse to start here.
fn block_beside<T>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = T>) -> T {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            rt.block_on(async {
                let _ = stopped.await;
            })
        });
        let out = {
            let _guard = rt.enter();
            block_now(fut)
        };
        let _ = stop.send(());
        out
    })
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
