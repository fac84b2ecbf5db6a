//! Object handles: an entity value shared by every holder in one session, with the bookkeeping a
//! flush needs.

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
    pub saved: Option<Vec<Value>>,
    /// Columns this session read.
    pub read: Bits,
    /// Columns this session changed since the last flush.
    pub written: Bits,
    /// The `lazy` columns not loaded yet: the value holds the field's default in their place,
    /// which no getter returns, no update compares against and no optimistic check sends.
    pub unloaded: Bits,
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
    pub(crate) fn write(&mut self, column: usize, f: impl FnOnce(&mut E)) -> Result<()> {
        self.writable()?;
        if self.status == Status::Persistent && self.saved.is_none() {
            self.saved = Some(self.value.column_values()?);
        }
        f(&mut self.value);
        self.written.set(column);
        count_write();
        Ok(())
    }

    /// Changes the value through `f`, marking written the columns whose value it changed.
    pub(crate) fn update(&mut self, f: impl FnOnce(&mut E)) -> Result<()> {
        self.writable()?;
        let before = self.value.column_values()?;
        if self.status == Status::Persistent && self.saved.is_none() {
            self.saved = Some(before.clone());
        }
        f(&mut self.value);
        match self.value.column_values() {
            Ok(after) => {
                for (i, (a, b)) in before.iter().zip(&after).enumerate() {
                    if a != b {
                        self.written.set(i);
                    }
                }
            }
            // A value the flush will refuse: every column counts as changed, so it is sent and
            // the flush reports the error.
            Err(_) => (0..before.len()).for_each(|i| self.written.set(i)),
        }
        count_write();
        Ok(())
    }

    /// Sets the optional `Single` in column `index` to `None`, as a write.
    pub(crate) fn clear_reference(&mut self, index: usize) -> Result<()> {
        let mut result = Ok(());
        self.write(index, |e| result = e.clear_reference(index))?;
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

fn count_write() {
    WRITES.fetch_add(1, std::sync::atomic::Ordering::Release);
}

/// The state of an object, locked. A poisoned lock (a panic while holding it) still yields the
/// state: the bookkeeping stays consistent because no method panics halfway.
pub(crate) fn lock_state<E>(cell: &Mutex<ObjState<E>>) -> MutexGuard<'_, ObjState<E>> {
    cell.lock().unwrap_or_else(|p| p.into_inner())
}

/// A session object with its entity erased, as a relation link holds it.
pub trait LinkedObject: Any + Send + Sync {
    /// The object as `Any`, to downcast to its entity's state.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<E: Entity> LinkedObject for Mutex<ObjState<E>> {
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

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
/// One list of edges for every field, behind one box: an object that links nothing (most of
/// what a session loads) pays one pointer for it, and one that links costs three allocations
/// however many relations it links.
#[derive(Default)]
pub struct Links(Option<Box<LinkLists>>);

/// The lists behind [`Links`].
#[derive(Default)]
struct LinkLists {
    /// Each linked field, with the end of its edges in `edges` (they start where the previous
    /// field's end).
    fields: Vec<(&'static str, usize)>,
    edges: Vec<Edge>,
}

impl Links {
    /// Links with room for `edges` edges.
    pub fn with_capacity(edges: usize) -> Links {
        Links(Some(Box::new(LinkLists { fields: Vec::new(), edges: Vec::with_capacity(edges) })))
    }

    fn lists(&mut self) -> &mut LinkLists {
        self.0.get_or_insert_with(Box::default)
    }

    /// Adds one object the relation `field` led to, after the others of the same field; a
    /// `field` not pushed last starts anew.
    #[inline]
    pub fn push_edge(&mut self, field: &'static str, edge: Edge) {
        let lists = self.lists();
        lists.edges.push(edge);
        match lists.fields.last_mut() {
            Some((last, end)) if *last == field => *end = lists.edges.len(),
            _ => lists.fields.push((field, lists.edges.len())),
        }
    }

    /// Marks `field` as loaded; the objects it led to follow with [`Links::push_edge`] (a
    /// collection without members stays empty).
    #[inline]
    pub fn push_empty(&mut self, field: &'static str) {
        let lists = self.lists();
        lists.fields.push((field, lists.edges.len()));
    }

    /// The objects the relation `field` led to, if the session loaded it.
    pub fn get(&self, field: &str) -> Option<&[Edge]> {
        let lists = self.0.as_deref()?;
        let at = lists.fields.iter().position(|(f, _)| *f == field)?;
        let start = if at == 0 { 0 } else { lists.fields[at - 1].1 };
        Some(&lists.edges[start..lists.fields[at].1])
    }

    /// The held edges, taken out.
    fn drain_held(&mut self) -> impl Iterator<Item = Arc<dyn LinkedObject>> + '_ {
        let lists = self.lists();
        lists.fields.clear();
        lists.edges.drain(..).filter_map(|e| match e {
            Edge::Held(held) => Some(held),
            Edge::Followed(_) => None,
        })
    }
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut start = 0;
        let mut list = f.debug_list();
        for &(field, end) in self.0.iter().flat_map(|lists| &lists.fields) {
            list.entry(&(field, end - start));
            start = end;
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
        let Some(lists) = &self.0 else { return };
        if !lists.edges.iter().any(|e| matches!(e, Edge::Held(_))) {
            return;
        }
        let queued = DROPPING.try_with(|queue| match queue.borrow_mut().as_mut() {
            Some(queue) => {
                queue.extend(self.drain_held());
                true
            }
            None => false,
        });
        if queued != Ok(false) {
            return;
        }
        let held: Vec<_> = self.drain_held().collect();
        let _ = DROPPING.try_with(|queue| *queue.borrow_mut() = Some(held));
        // Each object is dropped outside the borrow: its own links queue themselves.
        while let Ok(Some(object)) = DROPPING.try_with(|queue| queue.borrow_mut().as_mut().and_then(Vec::pop)) {
            drop(object);
        }
        let _ = DROPPING.try_with(|queue| queue.borrow_mut().take());
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
    fn with_status(value: E, status: Status, saved: Option<Vec<Value>>, unloaded: Bits) -> Self {
        let state = ObjState {
            value,
            status,
            saved,
            read: Bits::default(),
            written: Bits::default(),
            unloaded,
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
        Handle::with_status(value, Status::Persistent, saved, unloaded)
    }

    /// Reads through `f`, marking column `column` read, unless it is a `lazy` column that is not
    /// loaded (and not written since): then `None`, and the caller loads it. An error when the
    /// object belongs to a strict session that has ended.
    pub fn read_loaded<T>(&self, column: usize, f: impl FnOnce(&E) -> T) -> Result<Option<T>> {
        let mut s = self.usable_lock()?;
        if s.unloaded.has(column) && !s.written.has(column) {
            return Ok(None);
        }
        s.read.set(column);
        Ok(Some(f(&s.value)))
    }

    /// Whether the `lazy` column `column` is still to be loaded (see [`Handle::read_loaded`]).
    pub fn is_unloaded(&self, column: usize) -> bool {
        let s = self.lock();
        s.unloaded.has(column) && !s.written.has(column)
    }

    /// The state, locked. A poisoned lock (a panic while holding it) still yields the state:
    /// the bookkeeping stays consistent because no method panics halfway.
    pub fn lock(&self) -> MutexGuard<'_, ObjState<E>> {
        lock_state(&self.cell)
    }

    /// The handle of a linked object, if it is an `E`.
    pub(crate) fn from_linked(object: Arc<dyn LinkedObject>) -> Option<Self> {
        object.into_any().downcast::<Mutex<ObjState<E>>>().ok().map(|cell| Handle { cell })
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
        s.read.set(column);
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
        s.read.set(column);
        s
    }

    /// Points the `Single` in column `index` at `target`, as a write.
    pub fn set_reference<O: Entity>(&self, index: usize, target: &Handle<O>) -> Result<()> {
        let mut result = Ok(());
        self.write(index, |e| result = e.set_reference(index, target))?;
        result
    }

    /// Sets the optional `Single` in column `index` to `None`, as a write.
    pub fn set_reference_null(&self, index: usize) -> Result<()> {
        self.lock().clear_reference(index)
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
            return Ok(s.value.column_value_at(index)? == key);
        }
        let mut followed = Vec::new();
        s.value.referenced_objects(&mut followed);
        Ok(followed.contains(&(index, target_addr)))
    }

    /// Writes through `f`, marking column `column` changed. Refused for a deleted object and
    /// after the session ended.
    pub fn write(&self, column: usize, f: impl FnOnce(&mut E)) -> Result<()> {
        self.lock().write(column, f)
    }

    /// Changes several fields at once (PonyORM's `obj.set(name=.., price=..)`):
    /// `p.update(|p| { p.name = "Anne".into(); p.price = 9.5; })?`. Only the columns whose value
    /// `f` changed are marked changed, so the next flush updates just those
    /// (`UPDATE "product" SET "name" = ?, "price" = ? WHERE "id" = ? AND ...`). Refused for a
    /// deleted object and after the session ended. `f` runs with the object locked: it must not
    /// use this object's handle. A `lazy` field not loaded yet holds its default here: set it
    /// with its setter, which sends it whatever its value.
    pub fn update(&self, f: impl FnOnce(&mut E)) -> Result<()> {
        self.lock().update(f)
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

    /// The object's fields as JSON, as [`crate::entity::to_dict`] does (PonyORM's `to_dict`). A
    /// `lazy` field that is not loaded is left out (Pony's `with_lazy=False`): read it first to
    /// include it.
    pub fn to_dict(&self, only: &[&str], exclude: &[&str]) -> Result<serde_json::Map<String, serde_json::Value>> {
        let s = self.usable_lock()?;
        let meta = E::meta();
        let mut left_out: Vec<&str> = exclude.to_vec();
        left_out.extend(
            meta.lazy_columns
                .iter()
                .filter(|&&i| s.unloaded.has(i) && !s.written.has(i))
                .map(|&i| meta.columns[i].field),
        );
        crate::entity::to_dict(&s.value, only, &left_out)
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
