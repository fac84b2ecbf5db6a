//! One connection pool for every driver: a bounded set of connections, handed out whole and
//! returned synchronously on drop, never while inside a transaction.

use nextorm_core::{Error, ErrorKind, Result};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// What the pool needs from a driver.
pub(crate) trait Connect: Send + Sync + 'static {
    /// The driver's connection.
    type Conn: Send + 'static;
    /// Opens a new connection.
    fn connect(&self) -> impl std::future::Future<Output = Result<Self::Conn>> + Send;
}

enum Step {
    Connect,
    Retry,
    Wait,
}

struct State<C> {
    idle: Vec<C>,
    open: usize,
    closed: bool,
    /// How many checked-out connections each session holder (thread or task) has, so that one
    /// that asks for one more while its sessions hold them all is refused at once: nobody else
    /// could give one back. Transactions are not counted: a second checkout inside one waits
    /// and ends in `PoolTimeout`, as it always did.
    held: Vec<(Holder, usize)>,
}

/// Who holds a session's connection: the tokio task, or outside a task the thread (the blocking
/// facade, whose futures run on the caller's thread). A thread or task blocked in `acquire`
/// cannot end its session, so it only waits for other holders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    Task(tokio::task::Id),
    Thread(std::thread::ThreadId),
}

impl Holder {
    fn current() -> Holder {
        match tokio::task::try_id() {
            Some(id) => Holder::Task(id),
            None => Holder::Thread(std::thread::current().id()),
        }
    }
}

impl<C> State<C> {
    fn holds(&self, holder: Holder) -> usize {
        self.held.iter().find(|(h, _)| *h == holder).map_or(0, |(_, n)| *n)
    }

    fn hold(&mut self, holder: Holder) {
        match self.held.iter_mut().find(|(h, _)| *h == holder) {
            Some((_, n)) => *n += 1,
            None => self.held.push((holder, 1)),
        }
    }

    fn release(&mut self, holder: Holder) {
        if let Some(i) = self.held.iter().position(|(h, _)| *h == holder) {
            self.held[i].1 -= 1;
            if self.held[i].1 == 0 {
                self.held.swap_remove(i);
            }
        }
    }
}

pub(crate) struct Pool<D: Connect> {
    shared: Arc<Shared<D>>,
}

impl<D: Connect> Clone for Pool<D> {
    fn clone(&self) -> Self {
        Pool { shared: self.shared.clone() }
    }
}

struct Shared<D: Connect> {
    driver: D,
    state: Mutex<State<D::Conn>>,
    max: usize,
    acquire_timeout: Duration,
    /// Wait on the condvar rather than the runtime: the blocking facade on SQLite has no runtime.
    blocking_wait: bool,
    /// Wakes async waiters.
    notify: Notify,
    /// Wakes blocking waiters.
    condvar: Condvar,
}

impl<D: Connect> Pool<D> {
    pub(crate) fn new(driver: D, max: usize, acquire_timeout: Duration, blocking_wait: bool) -> Self {
        Pool {
            shared: Arc::new(Shared {
                driver,
                state: Mutex::new(State { idle: Vec::new(), open: 0, closed: false, held: Vec::new() }),
                max: max.max(1),
                acquire_timeout,
                blocking_wait,
                notify: Notify::new(),
                condvar: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<D::Conn>> {
        // A panic while holding this lock leaves the counts consistent; keep going.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes an idle connection, opens a new one below the limit, or waits for one to be returned.
    /// A caller (thread or task) whose sessions hold every open connection already is refused at
    /// once with [`ErrorKind::Config`] rather than waiting out the timeout for itself.
    pub(crate) async fn acquire(&self) -> Result<Pooled<D>> {
        let deadline = Instant::now() + self.shared.acquire_timeout;
        let holder = Holder::current();
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Decide under the lock; connect and wait outside it (the guard must not live across
            // an await).
            let step = {
                let mut state = self.lock();
                if state.closed {
                    return Err(Error::new(ErrorKind::ConnectionLost, "the database has been closed"));
                }
                if let Some(conn) = state.idle.pop() {
                    return Ok(self.pooled(conn));
                }
                let now = Instant::now();
                if state.open < self.shared.max {
                    state.open += 1;
                    Step::Connect
                } else if state.holds(holder) >= state.open {
                    return Err(self.self_deadlock_error());
                } else if now >= deadline {
                    return Err(self.timeout_error());
                } else if self.shared.blocking_wait {
                    let (guard, _) =
                        self.shared.condvar.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner());
                    drop(guard);
                    Step::Retry
                } else {
                    Step::Wait
                }
            };
            match step {
                Step::Connect => {
                    // Gives the slot back if connecting fails or the future is dropped midway.
                    let slot = Slot(Some(self));
                    let conn = self.shared.driver.connect().await?;
                    std::mem::forget(slot);
                    return Ok(self.pooled(conn));
                }
                Step::Retry => continue,
                Step::Wait => {
                    if tokio::time::timeout_at(deadline.into(), notified).await.is_err() {
                        return Err(self.timeout_error());
                    }
                }
            }
        }
    }

    fn timeout_error(&self) -> Error {
        Error::new(
            ErrorKind::PoolTimeout,
            format!(
                "no connection became free within {:?} (all {} are in use)",
                self.shared.acquire_timeout, self.shared.max
            ),
        )
    }

    /// `Config`, not `PoolTimeout`: waiting could never succeed, and a retry would meet the same
    /// wall, so it is the call that must change.
    fn self_deadlock_error(&self) -> Error {
        Error::config(format!(
            "this thread or task already holds every connection of the pool ({}) and asked for another, \
             which would wait forever: inside a session run raw SQL on the session (`db.execute`, \
             `db.select` and `db.get` join it), or open the database with more connections",
            self.shared.max
        ))
    }

    fn pooled(&self, conn: D::Conn) -> Pooled<D> {
        Pooled { conn: Some(conn), pool: self.clone(), holder: None }
    }

    fn wake_one(&self) {
        self.shared.notify.notify_one();
        self.shared.condvar.notify_one();
    }

    fn forget_one(&self) {
        self.lock().open -= 1;
        self.wake_one();
    }

    fn forget_held(&self, holder: Option<Holder>) {
        let mut state = self.lock();
        state.open -= 1;
        if let Some(holder) = holder {
            state.release(holder);
        }
        drop(state);
        self.wake_one();
    }

    fn give_back(&self, conn: D::Conn, holder: Option<Holder>) {
        let mut state = self.lock();
        if let Some(holder) = holder {
            state.release(holder);
        }
        if state.closed {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.wake_one();
    }

    /// Closes the pool: idle connections are returned for closing, later acquires fail.
    pub(crate) fn close(&self) -> Vec<D::Conn> {
        let mut state = self.lock();
        state.closed = true;
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        drop(state);
        self.shared.notify.notify_waiters();
        self.shared.condvar.notify_all();
        idle
    }

    /// Open connections and idle ones, for tests of the pool invariant.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.open, state.idle.len())
    }
}

/// A reserved place in the pool while a connection opens.
struct Slot<'a, D: Connect>(Option<&'a Pool<D>>);

impl<D: Connect> Drop for Slot<'_, D> {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            pool.forget_one();
        }
    }
}

/// A connection checked out of the pool. Returned on drop unless [`Pooled::discard`]ed.
pub(crate) struct Pooled<D: Connect> {
    conn: Option<D::Conn>,
    pool: Pool<D>,
    /// The thread or task whose session holds it, once [`Pooled::hold_for_session`] was called.
    holder: Option<Holder>,
}

impl<D: Connect> Pooled<D> {
    pub(crate) fn get(&mut self) -> &mut D::Conn {
        self.conn.as_mut().expect("a pooled connection is present until drop")
    }

    /// Records the calling thread or task as holding this connection for a session, until it is
    /// returned.
    pub(crate) fn hold_for_session(&mut self) {
        if self.holder.is_none() {
            let holder = Holder::current();
            self.pool.lock().hold(holder);
            self.holder = Some(holder);
        }
    }

    /// Takes the connection out of the pool for good (it is broken or inside a transaction).
    pub(crate) fn discard(&mut self) -> Option<D::Conn> {
        let conn = self.conn.take();
        if conn.is_some() {
            self.pool.forget_held(self.holder);
        }
        conn
    }
}

impl<D: Connect> Drop for Pooled<D> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn, self.holder);
        }
    }
}
