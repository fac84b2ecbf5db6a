//! Object handles: an entity value shared by every holder in one session, with the bookkeeping a
//! flush needs.

use super::own_reference::read_locked;
use crate::entity::Entity;
use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// A set of column indexes (up to 128 columns per entity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Bits([u64; 2]);

impl Bits {
    /// The most columns an entity may have in a session.
    pub const CAPACITY: usize = 128;

    /// Adds column `i`.
    pub fn set(&mut self, i: usize) {
        if i < Self::CAPACITY {
            self.0[i / 64] |= 1 << (i % 64);
        }
    }

    /// Whether column `i` is in the set.
    pub fn has(&self, i: usize) -> bool {
        i < Self::CAPACITY && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// Removes column `i`.
    pub fn remove(&mut self, i: usize) {
        if i < Self::CAPACITY {
            self.0[i / 64] &= !(1 << (i % 64));
        }
    }

    /// The columns at `indexes`.
    pub fn of(indexes: &[usize]) -> Bits {
        let mut bits = Bits::default();
        indexes.iter().for_each(|&i| bits.set(i));
        bits
    }

    /// The columns of this set that are not in `other`.
    pub fn minus(self, other: Bits) -> Bits {
        Bits([self.0[0] & !other.0[0], self.0[1] & !other.0[1]])
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0, 0]
    }

    /// Both sets.
    pub fn union(self, other: Bits) -> Bits {
        Bits([self.0[0] | other.0[0], self.0[1] | other.0[1]])
    }
}

/// One of an object's three column sets (see [`ColumnSets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSet {
    /// Columns this session read.
    Read,
    /// Columns this session changed since the last flush.
    Written,
    /// The `lazy` columns not loaded yet: the value holds the field's default in their place,
    /// which no getter returns, no update compares against and no optimistic check sends.
    Unloaded,
}

/// An object's three column sets ([`ColumnSet`]), each of up to [`Bits::CAPACITY`] columns. The
/// first 64 columns of all three sit inline; an entity with more keeps the rest in a box made at
/// their first use. Every session object carries them: 32 bytes, where three [`Bits`] take 48.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnSets {
    low: [u64; 3],
    high: Option<Box<[u64; 3]>>,
}

impl ColumnSets {
    /// The sets of a new or loaded object: nothing read or written, `unloaded` not loaded yet.
    #[inline]
    pub fn new(unloaded: Bits) -> ColumnSets {
        let mut sets = ColumnSets::default();
        sets.replace(ColumnSet::Unloaded, unloaded);
        sets
    }

    /// The columns in `set`.
    #[inline]
    pub fn get(&self, set: ColumnSet) -> Bits {
        let at = set as usize;
        Bits([self.low[at], self.high.as_ref().map_or(0, |high| high[at])])
    }

    /// Makes `set` hold exactly `bits`.
    #[inline]
    pub fn replace(&mut self, set: ColumnSet, bits: Bits) {
        let at = set as usize;
        self.low[at] = bits.0[0];
        if bits.0[1] != 0 || self.high.is_some() {
            self.high.get_or_insert_default()[at] = bits.0[1];
        }
    }

    /// Whether column `i` is in `set`.
    #[inline]
    pub fn has(&self, set: ColumnSet, i: usize) -> bool {
        match i {
            0..64 => self.low[set as usize] & (1 << i) != 0,
            _ => self.get(set).has(i),
        }
    }

    /// Adds column `i` to `set` (a read marks one at every getter call: inline, no `Bits`).
    #[inline]
    pub fn insert(&mut self, set: ColumnSet, i: usize) {
        match i {
            0..64 => self.low[set as usize] |= 1 << i,
            _ => {
                let mut bits = self.get(set);
                bits.set(i);
                self.replace(set, bits);
            }
        }
    }

    /// Removes column `i` from `set`.
    #[inline]
    pub fn remove(&mut self, set: ColumnSet, i: usize) {
        let mut bits = self.get(set);
        bits.remove(i);
        self.replace(set, bits);
    }
}

/// Where an object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created in this session, not inserted yet.
    New,
    /// In the database; `saved` holds its column values as last read or written.
    Persistent,
    /// Deleted in this session, not flushed yet.
    Deleting,
    /// Deleted and flushed.
    Gone,
}

/// The state behind a handle.
#[derive(Debug)]
pub struct ObjState<E> {
    /// The current value.
    pub value: E,
    /// Where it stands.
    pub status: Status,
    /// Column values as the database holds them, for persistent objects: taken at the first
    /// write (until then the value itself is what the database holds), so loading costs no copy.
    pub saved: Option<Box<[Value]>>,
    /// The columns this session read, changed since the last flush, and has not loaded.
    pub columns: ColumnSets,
    /// Set when the session ended: the object stays readable and refuses writes.
    pub detached: bool,
    /// Set when a strict session ended: the object is unusable, reads included.
    pub unusable: bool,
    /// What the object's relations led to when its session ended (see [`Links`]).
    pub links: Links,
}

impl<E: Entity> ObjState<E> {
    /// Changes the value through `f`, marking column `column` written; refused once the
    /// session has ended or the object is deleted.
    /// `addr` is the object's address (see [`Handle::addr`]).
    pub(crate) fn write(&mut self, addr: usize, column: usize, f: impl FnOnce(&mut E)) -> Result<()> {
        self.writable()?;
        if self.status == Status::Persistent && self.saved.is_none() {
            self.saved = Some(read_locked(addr, &self.value, E::column_values)?.into_boxed_slice());
        }
        f(&mut self.value);
        self.columns.insert(ColumnSet::Written, column);
        count_write();
        Ok(())
    }

    /// Changes the value through `f`, marking written the columns whose value it changed.
    pub(crate) fn update(&mut self, addr: usize, f: impl FnOnce(&mut E)) -> Result<()> {
        self.writable()?;
        let before = read_locked(addr, &self.value, E::column_values)?;
        if self.status == Status::Persistent && self.saved.is_none() {
            self.saved = Some(before.as_slice().into());
        }
        f(&mut self.value);
        match read_locked(addr, &self.value, E::column_values) {
            Ok(after) => {
                for (i, (a, b)) in before.iter().zip(&after).enumerate() {
                    if a != b {
                        self.columns.insert(ColumnSet::Written, i);
                    }
                }
            }
            // A value the flush will refuse: every column counts as changed, so it is sent and
            // the flush reports the error.
            Err(_) => (0..before.len()).for_each(|i| self.columns.insert(ColumnSet::Written, i)),
        }
        count_write();
        Ok(())
    }

    /// Whether the `lazy` column `column` is still to be loaded: not loaded, and not written
    /// since.
    pub(crate) fn is_unloaded(&self, column: usize) -> bool {
        self.columns.has(ColumnSet::Unloaded, column) && !self.columns.has(ColumnSet::Written, column)
    }

    /// Sets the optional `Single` in column `index` to `None`, as a write.
    pub(crate) fn clear_reference(&mut self, addr: usize, index: usize) -> Result<()> {
        let mut result = Ok(());
        self.write(addr, index, |e| result = e.clear_reference(index))?;
        result
    }

    /// Whether a write would be accepted: not once the session has ended or the object is
    /// deleted.
    fn writable(&self) -> Result<()> {
        if self.detached {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{} belongs to a session that has ended; it is read-only", E::meta().name),
            ));
        }
        if matches!(self.status, Status::Deleting | Status::Gone) {
            return Err(Error::new(ErrorKind::Config, format!("{} has been deleted", E::meta().name)));
        }
        Ok(())
    }

    /// Marks the object for deletion (see [`Handle::delete`]).
    pub(crate) fn mark_deleted(&mut self) -> Result<()> {
        if self.detached {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{} belongs to a session that has ended", E::meta().name),
            ));
        }
        self.status = match self.status {
            Status::New | Status::Gone => Status::Gone,
            Status::Persistent | Status::Deleting => Status::Deleting,
        };
        count_write();
        Ok(())
    }
}

/// How many writes (field changes and deletions) objects of any session have taken: a session
/// whose objects it has scanned since the last change skips the scan at the next flush.
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The count of writes so far (field changes and deletions, in any session): a flush reads it
/// before it scans the objects, and a later flush with the same count and no new object has
/// nothing to scan.
pub fn write_epoch() -> u64 {
    WRITES.load(std::sync::atomic::Ordering::Acquire)
}

pub(crate) fn count_write() {
    WRITES.fetch_add(1, std::sync::atomic::Ordering::Release);
}

thread_local! {
    /// How many lifecycle hooks are running on this thread (see [`in_hook`]).
    static HOOKS_RUNNING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether a lifecycle hook (`before_insert`, `after_load`, ...) is running on this thread.
/// A hook runs inside its session's flush (or while a row loads), with the session in use, so
/// both facades refuse a session call made from it ([`hook_cannot_use_the_session`]) rather
/// than report a busy session or, in the async facade, wait for itself.
pub fn in_hook() -> bool {
    HOOKS_RUNNING.with(|n| n.get() > 0)
}

/// The [`ErrorKind::Config`] error of a session call made from a lifecycle hook.
pub fn hook_cannot_use_the_session() -> Error {
    Error::config(
        "a lifecycle hook cannot use its session: hooks run inside the session's flush (or while a row \
         loads), and a query there would first have to flush what is being flushed; read what the hook \
         needs in the session body, before the write",
    )
}

/// Runs a lifecycle hook, marked as running for [`in_hook`] (also when it panics).
pub(crate) fn run_hook<T>(hook: impl FnOnce() -> T) -> T {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            HOOKS_RUNNING.with(|n| n.set(n.get().saturating_sub(1)));
        }
    }
    HOOKS_RUNNING.with(|n| n.set(n.get() + 1));
    let _running = Running;
    hook()
}

/// The state of an object, locked. A poisoned lock (a panic while holding it) still yields the
/// state: the bookkeeping stays consistent because no method panics halfway.
pub(crate) fn lock_state<E>(cell: &Mutex<ObjState<E>>) -> MutexGuard<'_, ObjState<E>> {
    cell.lock().unwrap_or_else(|p| p.into_inner())
}

/// A session object with its entity erased, as a relation link holds it (downcast to its
/// entity's state through its `Any` supertrait).
pub trait LinkedObject: Any + Send + Sync {}

impl<E: Entity> LinkedObject for Mutex<ObjState<E>> {}

/// One object a relation led to. Held, unless holding it would close a cycle of objects holding
/// each other (which would never be freed): then only followed, and the object lives as long as
/// something else holds it.
#[derive(Clone)]
pub enum Edge {
    /// The link keeps the object alive.
    Held(Arc<dyn LinkedObject>),
    /// The link reaches the object while something else keeps it alive.
    Followed(Weak<dyn LinkedObject>),
}

/// What an object's relations led to when its session ended: the references and collections the
/// session had loaded (by `prefetch`, `get` or `load`), so that they answer without a session.
/// An object that links nothing (most of what a session loads) pays one word for it; one that
/// links a single reference (a comment's post) holds it inline, with no allocation; any other
/// takes one allocation however many relations it links.
#[derive(Default)]
pub struct Links(LinksRepr);

#[derive(Default)]
enum LinksRepr {
    /// Nothing linked.
    #[default]
    None,
    /// One field that led to one object.
    One(FieldName, Edge),
    /// Every linked field, each followed by its edges.
    Slots(Box<[LinkSlot]>),
}

/// One entry of [`Links`]: a linked field, or one object the field before it led to.
enum LinkSlot {
    Field(FieldName),
    Edge(Edge),
}

/// A relation field's name, by reference to where its entity's metadata keeps it
/// (`&relation.field`): one word where a `&str` takes two, in every session object's [`Links`].
pub type FieldName = &'static &'static str;

impl Links {
    /// The links of one field: `field` led to `edges`.
    pub fn one_field(field: FieldName, edges: impl IntoIterator<Item = Edge>) -> Links {
        let mut builder = LinksBuilder::default();
        builder.field(field);
        edges.into_iter().for_each(|edge| builder.edge(edge));
        builder.take()
    }

    /// The links of one field that led to one object.
    pub(crate) fn one(field: FieldName, edge: Edge) -> Links {
        Links(LinksRepr::One(field, edge))
    }

    /// The objects the relation `field` led to, if the session loaded it.
    pub fn get(&self, field: &str) -> Option<LinkedEdges<'_>> {
        match &self.0 {
            LinksRepr::None => None,
            LinksRepr::One(linked, edge) => {
                (**linked == field).then(|| LinkedEdges { one: Some(edge), rest: [].iter() })
            }
            LinksRepr::Slots(slots) => {
                let at = slots.iter().position(|s| matches!(s, LinkSlot::Field(f) if **f == field))? + 1;
                let len = slots[at..].iter().position(|s| matches!(s, LinkSlot::Field(_))).unwrap_or(slots.len() - at);
                Some(LinkedEdges { one: None, rest: slots[at..at + len].iter() })
            }
        }
    }

    /// Whether a link keeps an object alive.
    fn holds(&self) -> bool {
        match &self.0 {
            LinksRepr::None => false,
            LinksRepr::One(_, edge) => matches!(edge, Edge::Held(_)),
            LinksRepr::Slots(slots) => slots.iter().any(|s| matches!(s, LinkSlot::Edge(Edge::Held(_)))),
        }
    }

    /// The held edges, taken out and given to `out`.
    fn drain_held(&mut self, mut out: impl FnMut(Arc<dyn LinkedObject>)) {
        match std::mem::take(&mut self.0) {
            LinksRepr::None | LinksRepr::One(_, Edge::Followed(_)) => {}
            LinksRepr::One(_, Edge::Held(held)) => out(held),
            LinksRepr::Slots(slots) => {
                for slot in slots {
                    if let LinkSlot::Edge(Edge::Held(held)) = slot {
                        out(held);
                    }
                }
            }
        }
    }
}

/// Builds [`Links`] one object after another, reusing its buffer: each object's links take at
/// most one allocation, of their exact size.
#[derive(Default)]
pub(crate) struct LinksBuilder(Vec<LinkSlot>);

impl LinksBuilder {
    /// Starts the edges of `field` (a loaded collection without members stays empty).
    pub(crate) fn field(&mut self, field: FieldName) {
        self.0.push(LinkSlot::Field(field));
    }

    /// Adds one object the field started last led to.
    pub(crate) fn edge(&mut self, edge: Edge) {
        self.0.push(LinkSlot::Edge(edge));
    }

    /// The links added since the last call.
    pub(crate) fn take(&mut self) -> Links {
        if let [LinkSlot::Field(_), LinkSlot::Edge(_)] = self.0.as_slice()
            && let (Some(LinkSlot::Edge(edge)), Some(LinkSlot::Field(field))) = (self.0.pop(), self.0.pop())
        {
            return Links::one(field, edge);
        }
        // Moved in one copy into an allocation of the exact size.
        let mut slots = Vec::with_capacity(self.0.len());
        slots.append(&mut self.0);
        Links(LinksRepr::Slots(slots.into_boxed_slice()))
    }
}

/// The objects one linked field led to ([`Links::get`]), in the order the session held them.
pub struct LinkedEdges<'a> {
    one: Option<&'a Edge>,
    /// The field's edges, and no other slot.
    rest: std::slice::Iter<'a, LinkSlot>,
}

impl<'a> Iterator for LinkedEdges<'a> {
    type Item = &'a Edge;

    fn next(&mut self) -> Option<&'a Edge> {
        if let Some(edge) = self.one.take() {
            return Some(edge);
        }
        match self.rest.next()? {
            LinkSlot::Edge(edge) => Some(edge),
            LinkSlot::Field(_) => None,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = usize::from(self.one.is_some()) + self.rest.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for LinkedEdges<'_> {}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        match &self.0 {
            LinksRepr::None => {}
            LinksRepr::One(field, _) => {
                list.entry(&(**field, 1));
            }
            LinksRepr::Slots(slots) => {
                let mut field: Option<(&str, usize)> = None;
                for slot in slots.iter() {
                    match slot {
                        LinkSlot::Field(next) => {
                            if let Some(done) = field.replace((**next, 0)) {
                                list.entry(&done);
                            }
                        }
                        LinkSlot::Edge(_) => {
                            if let Some((_, n)) = &mut field {
                                *n += 1;
                            }
                        }
                    }
                }
                if let Some(done) = field {
                    list.entry(&done);
                }
            }
        }
        list.finish()
    }
}

thread_local! {
    /// Objects whose last link is being dropped on this thread, while an outer drop runs.
    static DROPPING: std::cell::RefCell<Option<Vec<Arc<dyn LinkedObject>>>> = const { std::cell::RefCell::new(None) };
}

impl Drop for Links {
    /// Frees a long chain of linked objects (100,000 comments, each holding the next) in a loop:
    /// dropped recursively, it would overflow the stack. A drop inside the loop only queues its
    /// objects for the outermost one.
    fn drop(&mut self) {
        if !self.holds() {
            return;
        }
        let queued = DROPPING.try_with(|queue| match queue.borrow_mut().as_mut() {
            Some(queue) => {
                self.drain_held(|held| queue.push(held));
                true
            }
            None => false,
        });
        if queued != Ok(false) {
            return;
        }
        let mut batch = Vec::new();
        self.drain_held(|object| batch.push(object));
        let _ = DROPPING.try_with(|queue| *queue.borrow_mut() = Some(Vec::new()));
        // Ends the outermost drop however it leaves, a panicking entity `Drop` included: left
        // set, the queue would keep every later drop on this thread from freeing anything.
        let _outermost = EndDropping;
        // Each batch is dropped outside the borrow: the objects' own links queue themselves
        // for the next batch, which is taken whole (one borrow per batch, not per object).
        while !batch.is_empty() {
            batch.clear();
            let swapped = DROPPING.try_with(|queue| queue.borrow_mut().as_mut().map(|q| std::mem::swap(q, &mut batch)));
            if !matches!(swapped, Ok(Some(()))) {
                break;
            }
        }
    }
}

/// Clears [`DROPPING`] when the outermost [`Links`] drop ends; what is still queued (after a
/// panic) is then dropped as ordinary values.
struct EndDropping;

impl Drop for EndDropping {
    fn drop(&mut self) {
        let leftover = DROPPING.try_with(|queue| queue.borrow_mut().take());
        drop(leftover);
    }
}

/// A handle to an entity object in a session. Clones share the object: a change made through
/// one is seen through every other, as Pony's identity map promises.
pub struct Handle<E: Entity> {
    cell: Arc<Mutex<ObjState<E>>>,
}

impl<E: Entity> Clone for Handle<E> {
    fn clone(&self) -> Self {
        Handle { cell: self.cell.clone() }
    }
}

impl<E: Entity> PartialEq for Handle<E> {
    /// Two handles are equal when they are the same object.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }
}

impl<E: Entity + std::fmt::Debug> std::fmt::Debug for Handle<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.lock().value.fmt(f)
    }
}

impl<E: Entity> Handle<E> {
    fn with_status(value: E, status: Status, saved: Option<Box<[Value]>>, unloaded: Bits) -> Self {
        let state = ObjState {
            value,
            status,
            saved,
            columns: ColumnSets::new(unloaded),
            detached: false,
            unusable: false,
            links: Links::default(),
        };
        Handle { cell: Arc::new(Mutex::new(state)) }
    }

    /// A new object, to be inserted at the next flush.
    pub fn new_object(value: E) -> Self {
        Handle::with_status(value, Status::New, None, Bits::default())
    }

    /// An object loaded from the database; `saved` holds the row's values when the object may
    /// already differ from them (a hook changed it). Its `lazy` columns count as not loaded:
    /// every `SELECT` that loads objects into a session leaves them out.
    pub fn loaded(value: E, saved: Option<Vec<Value>>) -> Self {
        let lazy = E::meta().lazy_columns;
        let unloaded = if lazy.is_empty() { Bits::default() } else { Bits::of(lazy) };
        Handle::with_status(value, Status::Persistent, saved.map(Vec::into_boxed_slice), unloaded)
    }

    /// Reads through `f`, marking column `column` read, unless it is a `lazy` column that is not
    /// loaded (and not written since): then `None`, and the caller loads it. An error when the
    /// object belongs to a strict session that has ended.
    pub fn read_loaded<T>(&self, column: usize, f: impl FnOnce(&E) -> T) -> Result<Option<T>> {
        let mut s = self.usable_lock()?;
        if s.is_unloaded(column) {
            return Ok(None);
        }
        s.columns.insert(ColumnSet::Read, column);
        Ok(Some(f(&s.value)))
    }

    /// Whether the `lazy` column `column` is still to be loaded (see [`Handle::read_loaded`]).
    pub fn is_unloaded(&self, column: usize) -> bool {
        let s = self.lock();
        s.is_unloaded(column)
    }

    /// The state, locked. A poisoned lock (a panic while holding it) still yields the state:
    /// the bookkeeping stays consistent because no method panics halfway.
    pub fn lock(&self) -> MutexGuard<'_, ObjState<E>> {
        lock_state(&self.cell)
    }

    /// The handle of a linked object, if it is an `E`.
    pub(crate) fn from_linked(object: Arc<dyn LinkedObject>) -> Option<Self> {
        let object: Arc<dyn Any + Send + Sync> = object;
        object.downcast::<Mutex<ObjState<E>>>().ok().map(|cell| Handle { cell })
    }

    /// The shared state, for the identity map.
    pub(crate) fn cell(&self) -> &Arc<Mutex<ObjState<E>>> {
        &self.cell
    }

    /// The state, locked, unless a strict session that held the object has ended.
    fn usable_lock(&self) -> Result<MutexGuard<'_, ObjState<E>>> {
        let s = self.lock();
        if s.unusable {
            return Err(Error::new(
                ErrorKind::Config,
                format!("this {} belongs to a strict session that has ended; it can no longer be used", E::meta().name),
            ));
        }
        Ok(s)
    }

    /// [`Handle::usable_lock`] for the getters, which return plain values: the error is a panic.
    #[track_caller]
    fn usable_lock_or_panic(&self) -> MutexGuard<'_, ObjState<E>> {
        match self.usable_lock() {
            Ok(s) => s,
            Err(e) => panic!("{}", e.message()),
        }
    }

    /// Reads through `f`, marking column `column` read (it joins the optimistic check).
    ///
    /// # Panics
    /// When the object belongs to a strict session that has ended (see [`Handle::try_read`]).
    #[track_caller]
    pub fn read<T>(&self, column: usize, f: impl FnOnce(&E) -> T) -> T {
        f(&self.read_state(column).value)
    }

    /// [`Handle::read`] that returns an error instead of panicking when the object belongs to a
    /// strict session that has ended.
    pub fn try_read<T>(&self, column: usize, f: impl FnOnce(&E) -> T) -> Result<T> {
        let mut s = self.usable_lock()?;
        s.columns.insert(ColumnSet::Read, column);
        Ok(f(&s.value))
    }

    /// Whether the object can still be read: false once its strict session has ended.
    pub fn is_usable(&self) -> bool {
        !self.lock().unusable
    }

    /// The state, with column `column` marked read: for the derive's getters.
    ///
    /// # Panics
    /// When the object belongs to a strict session that has ended: using it is a bug in the
    /// program, which `SessionOptions::strict` asks to be loud (PonyORM raises
    /// `DatabaseSessionIsOver`). [`Handle::try_read`] and [`Handle::is_usable`] check instead.
    #[track_caller]
    pub fn read_state(&self, column: usize) -> MutexGuard<'_, ObjState<E>> {
        let mut s = self.usable_lock_or_panic();
        s.columns.insert(ColumnSet::Read, column);
        s
    }

    /// Sets the optional `Single` in column `index` to `None`, as a write.
    pub fn set_reference_null(&self, index: usize) -> Result<()> {
        self.lock().clear_reference(self.addr(), index)
    }

    /// Whether the `Single` in column `index` refers to `target` (by key, or by following it
    /// while its key is still to be generated).
    pub fn refers_to<O: Entity>(&self, index: usize, target: &Handle<O>) -> Result<bool> {
        let (target_key, target_addr) = {
            let t = target.lock();
            (
                if t.value.key_is_unset() {
                    None
                } else {
                    crate::entity::Key::key_values(&t.value.key())?.into_iter().next()
                },
                target.addr(),
            )
        };
        let s = self.lock();
        if let Some(key) = target_key {
            return Ok(read_locked(self.addr(), &s.value, |v| v.column_value_at(index))? == key);
        }
        let mut followed = Vec::new();
        s.value.referenced_objects(&mut followed);
        Ok(followed.contains(&(index, target_addr)))
    }

    /// Writes through `f`, marking column `column` changed. Refused for a deleted object and
    /// after the session ended.
    pub fn write(&self, column: usize, f: impl FnOnce(&mut E)) -> Result<()> {
        self.lock().write(self.addr(), column, f)
    }

    /// Changes several fields at once (PonyORM's `obj.set(name=.., price=..)`):
    /// `p.update(|p| { p.name = "Anne".into(); p.price = 9.5; })?`. Only the columns whose value
    /// `f` changed are marked changed, so the next flush updates just those
    /// (`UPDATE "product" SET "name" = ?, "price" = ? WHERE "id" = ? AND ...`). Refused for a
    /// deleted object and after the session ended. `f` runs with the object locked: it must not
    /// use this object's handle. A `lazy` field not loaded yet holds its default here: set it
    /// with its setter, which sends it whatever its value.
    pub fn update(&self, f: impl FnOnce(&mut E)) -> Result<()> {
        self.lock().update(self.addr(), f)
    }

    /// The error a write would meet now (the session has ended, the object is deleted), if any:
    /// lets a change of several objects check them all before it writes any.
    pub fn writable(&self) -> Result<()> {
        self.lock().writable()
    }

    /// Deletes the object (Pony's `obj.delete()`): a DELETE at the next flush, with the optimistic
    /// check; a new object that was never flushed is simply dropped.
    pub fn delete(&self) -> Result<()> {
        self.lock().mark_deleted()
    }

    /// A copy of the current value.
    ///
    /// # Panics
    /// When the object belongs to a strict session that has ended.
    #[track_caller]
    pub fn snapshot(&self) -> E
    where
        E: Clone,
    {
        self.usable_lock_or_panic().value.clone()
    }

    /// The object's fields as JSON, as [`crate::dict::to_dict`] does (PonyORM's `to_dict`): its
    /// columns, references as keys. A session's `to_dict` adds relations and flushes first; this
    /// one sends nothing, so a reference to a new object not saved yet is an
    /// [`ErrorKind::InvalidValue`] error. A `lazy` field that is not loaded is left out (Pony's
    /// `with_lazy=False`): read it first to include it.
    pub fn to_dict(&self, only: &[&str], exclude: &[&str]) -> Result<serde_json::Map<String, serde_json::Value>> {
        let s = self.usable_lock()?;
        let meta = E::meta();
        let mut left_out: Vec<&str> = exclude.to_vec();
        left_out.extend(meta.lazy_columns.iter().filter(|&&i| s.is_unloaded(i)).map(|&i| meta.columns[i].field));
        read_locked(self.addr(), &s.value, |v| crate::dict::to_dict(v, only, &left_out))
    }

    /// The object's address: equal for every handle to one object, for as long as one lives.
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.cell) as *const () as usize
    }

    /// Whether both handles are the same object.
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }

    /// The object with its entity erased, for a relation link.
    pub fn erased(&self) -> Arc<dyn LinkedObject> {
        self.cell.clone()
    }

    /// The object a link leads to, if it is a `E` and still alive.
    pub fn from_edge(edge: &Edge) -> Option<Handle<E>> {
        let object = match edge {
            Edge::Held(held) => held.clone(),
            Edge::Followed(followed) => followed.upgrade()?,
        };
        Handle::from_linked(object)
    }

    /// A handle that does not keep the object alive (for caches and back references).
    pub fn downgrade(&self) -> WeakHandle<E> {
        WeakHandle { cell: Arc::downgrade(&self.cell) }
    }
}

/// A handle that does not keep its object alive: [`Handle::downgrade`].
pub struct WeakHandle<E: Entity> {
    cell: Weak<Mutex<ObjState<E>>>,
}

impl<E: Entity> WeakHandle<E> {
    /// The object, if something still holds it.
    pub fn upgrade(&self) -> Option<Handle<E>> {
        self.cell.upgrade().map(|cell| Handle { cell })
    }
}

impl<E: Entity> Clone for WeakHandle<E> {
    fn clone(&self) -> Self {
        WeakHandle { cell: self.cell.clone() }
    }
}

/// The error of reading a relation that the session did not leave on the object.
pub(crate) fn not_loaded(what: std::fmt::Arguments<'_>) -> Error {
    Error::config(format!(
        "{what} was not loaded with this object: prefetch it (`.prefetch(|x| x.relation)`), or use get/load with the session while it runs"
    ))
}

/// A session object serializes as its entity does (`nextorm_core::dict::serialize_entity`): its
/// columns, a reference as its key. An object of a strict session that has ended is the
/// serializer's error.
#[cfg(feature = "serde")]
impl<E: Entity> serde::Serialize for Handle<E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        self.to_dict(&[], &[]).map_err(S::Error::custom)?.serialize(serializer)
    }
}
