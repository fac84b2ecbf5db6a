//! One connection pool for every driver: a bounded set of connections, handed out whole and
//! returned synchronously on drop, never while inside a transaction. A connection that sat idle
//! longer than a threshold, or that was idle when another connection of the pool was found dead,
//! is pinged before it is handed out; one that does not answer is closed, never handed out.

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
    /// Whether `conn` still answers (one round trip).
    fn is_alive(&self, conn: &mut Self::Conn) -> impl std::future::Future<Output = bool> + Send;
    /// How long a statement may go without an answer before the connection counts as lost;
    /// `None`: no client-side deadline.
    // Read only by the server drivers' statements.
    #[cfg_attr(not(any(feature = "postgres", feature = "mariadb")), allow(dead_code))]
    fn read_deadline(&self) -> Option<Duration> {
        None
    }
}

enum Step<C> {
    Connect,
    Check(C),
    Retry,
    Wait,
}

/// An idle connection and since when it idles; `None` once it must be pinged before use (and
/// always in a pool that never pings).
struct Idle<C> {
    conn: C,
    since: Option<Instant>,
}

struct State<C> {
    idle: Vec<Idle<C>>,
    open: usize,
    closed: bool,
    /// How many checked-out connections each session holder (thread or task) has, so that one
    /// that asks for one more while its sessions hold them all is refused at once: nobody else
    /// could give one back. Transactions are not counted: a second checkout inside one waits
    /// and ends in `PoolTimeout`, as it always did.
    held: Vec<(Holder, usize)>,
    /// Threads waiting on the condition variable (the blocking facade on SQLite): a release
    /// signals it only when one waits, since signalling costs a system call even to nobody.
    blocked: usize,
    /// Tasks waiting on the `Notify` (async code, and the blocking facade on a server).
    awaiting: usize,
}

/// A task counted in `State::awaiting` while it waits, however the wait ends (the future may be
/// dropped).
struct Awaiting<'a, D: Connect>(&'a Pool<D>);

impl<D: Connect> Drop for Awaiting<'_, D> {
    fn drop(&mut self) {
        self.0.lock().awaiting -= 1;
    }
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
    /// A connection idle at least this long is pinged before it is handed out; `None` never
    /// pings (SQLite, whose connections cannot die while idle).
    check_idle_after: Option<Duration>,
    /// Wait on the condvar rather than the runtime: the blocking facade on SQLite has no runtime.
    blocking_wait: bool,
    /// Wakes async waiters.
    notify: Notify,
    /// Wakes blocking waiters.
    condvar: Condvar,
}

impl<D: Connect> Pool<D> {
    pub(crate) fn new(
        driver: D,
        max: usize,
        acquire_timeout: Duration,
        check_idle_after: Option<Duration>,
        blocking_wait: bool,
    ) -> Self {
        Pool {
            shared: Arc::new(Shared {
                driver,
                state: Mutex::new(State {
                    idle: Vec::new(),
                    open: 0,
                    closed: false,
                    held: Vec::new(),
                    blocked: 0,
                    awaiting: 0,
                }),
                max: max.max(1),
                acquire_timeout,
                check_idle_after,
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

    /// Takes an idle connection (pinged first if it idled past the threshold or is suspect),
    /// opens a new one below the limit, or waits for one to be returned. A caller (thread or
    /// task) whose sessions hold every open connection already is refused at once with
    /// [`ErrorKind::Config`] rather than waiting out the timeout for itself.
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
                if let Some(Idle { conn, since }) = state.idle.pop() {
                    // The clock is read only where connections can die while idle.
                    match (self.shared.check_idle_after, since) {
                        (None, _) => return Ok(self.pooled(conn)),
                        (Some(after), Some(since)) if since.elapsed() < after => return Ok(self.pooled(conn)),
                        _ => Step::Check(conn),
                    }
                } else if state.open < self.shared.max {
                    state.open += 1;
                    Step::Connect
                } else if state.holds(holder) >= state.open {
                    return Err(self.self_deadlock_error());
                } else {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(self.timeout_error());
                    } else if self.shared.blocking_wait {
                        state.blocked += 1;
                        let (mut state, _) =
                            self.shared.condvar.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner());
                        state.blocked -= 1;
                        drop(state);
                        Step::Retry
                    } else {
                        // Nothing returns or awaits before `Step::Wait` builds the `Awaiting`
                        // guard that takes this back; built here, a panic under the lock would
                        // deadlock in its drop.
                        state.awaiting += 1;
                        Step::Wait
                    }
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
                Step::Check(conn) => {
                    // Closed rather than pooled again if this future is dropped mid-ping: the
                    // connection may hold half an answer.
                    let mut pooled = self.pooled(conn);
                    pooled.discard_on_drop = true;
                    if self.shared.driver.is_alive(pooled.get()).await {
                        pooled.discard_on_drop = false;
                        return Ok(pooled);
                    }
                    pooled.discard_broken();
                }
                Step::Retry => continue,
                Step::Wait => {
                    let _counted = Awaiting(self);
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
        Pooled { conn: Some(conn), pool: self.clone(), holder: None, discard_on_drop: false, counted: true }
    }

    /// Wakes one waiter, after releasing `state` (read under it: whether a thread waits).
    fn wake_one(&self, state: MutexGuard<'_, State<D::Conn>>) {
        let blocked = state.blocked > 0;
        drop(state);
        self.shared.notify.notify_one();
        if blocked {
            self.shared.condvar.notify_one();
        }
    }

    fn forget_one(&self) {
        let mut state = self.lock();
        state.open -= 1;
        self.wake_one(state);
    }

    fn forget_held(&self, holder: Option<Holder>) {
        let mut state = self.lock();
        state.open -= 1;
        if let Some(holder) = holder {
            state.release(holder);
        }
        self.wake_one(state);
    }

    fn give_back(&self, conn: D::Conn, holder: Option<Holder>) {
        let mut state = self.lock();
        if let Some(holder) = holder {
            state.release(holder);
        }
        if state.closed {
            state.open -= 1;
        } else {
            let since = self.shared.check_idle_after.map(|_| Instant::now());
            state.idle.push(Idle { conn, since });
        }
        self.wake_one(state);
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
        idle.into_iter().map(|i| i.conn).collect()
    }

    /// A connection was found dead: the server may have restarted or dropped them all, so every
    /// idle connection is pinged before its next use, however recently it was returned.
    fn suspect_idle(&self) {
        for idle in &mut self.lock().idle {
            idle.since = None;
        }
    }

    /// Open connections, idle ones, and the threads and tasks waiting for one.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let state = self.lock();
        (state.open, state.idle.len(), state.blocked + state.awaiting)
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
    /// Closed rather than returned on drop (set while a health check runs).
    discard_on_drop: bool,
    /// Whether the connection still holds its place in the pool's count.
    counted: bool,
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
        self.uncount();
        conn
    }

    /// Frees the connection's place in the pool's count (and its session holder's claim), once.
    fn uncount(&mut self) {
        if std::mem::take(&mut self.counted) {
            self.pool.forget_held(self.holder.take());
        }
    }

    /// Gives up a connection found dead: its place in the pool is freed at once (so a
    /// replacement can open even in a pool of one), the idle ones become suspect, and the
    /// connection itself is closed on drop.
    pub(crate) fn let_go_broken(&mut self) {
        self.pool.suspect_idle();
        self.uncount();
        self.discard_on_drop = true;
    }

    /// [`Pooled::discard`] for a connection found dead: the idle ones become suspect too.
    pub(crate) fn discard_broken(&mut self) -> Option<D::Conn> {
        self.let_go_broken();
        self.conn.take()
    }

    /// The driver that opened the connection.
    #[cfg_attr(not(any(feature = "postgres", feature = "mariadb")), allow(dead_code))]
    pub(crate) fn driver(&self) -> &D {
        &self.pool.shared.driver
    }
}

impl<D: Connect> Drop for Pooled<D> {
    fn drop(&mut self) {
        if self.discard_on_drop || !self.counted {
            drop(self.discard());
        } else if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn, self.holder);
        }
    }
}
