//! The identity map: one object per (entity, key) in a session, and the list of objects a flush
//! walks.

use super::handle::{Bits, Handle, Status};
use super::plan::Change;
use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::value::{SqlType, Value};
use std::any::Any;
use std::collections::HashMap;

/// A key in the map: integer keys (the common case) need no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKey {
    /// A single integer key.
    Int(i64),
    /// Any other key, as canonical bytes.
    Bytes(Vec<u8>),
}

impl MapKey {
    /// The map key of key values.
    pub fn of(values: &[Value]) -> MapKey {
        match values {
            [Value::Int(i)] => MapKey::Int(*i),
            other => MapKey::Bytes(key_bytes(other)),
        }
    }
}

/// A canonical byte string of a key, for hashing (values hold floats, which are not `Hash`).
pub fn key_bytes(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * values.len());
    for v in values {
        match v {
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Value::Text(s) => {
                out.push(2);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Uuid(u) => {
                out.push(3);
                out.extend_from_slice(u.as_bytes());
            }
            other => {
                let text = format!("{other:?}");
                out.push(4);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

/// What the session needs of any object, whatever its entity.
pub trait Tracked: Send + Sync {
    /// The entity.
    fn meta(&self) -> &'static EntityMeta;
    /// The statement a flush must send for this object, if any.
    fn pending(&self) -> Result<Option<Change>>;
    /// Records that `change` reached the database (with the generated key of an insert).
    fn applied(&self, change: &Change, generated_key: Option<i64>) -> Result<()>;
    /// The object's key, encoded for the map; `None` while an auto key is still unset.
    fn map_key(&self) -> Result<Option<MapKey>>;
    /// Whether the entity has its own lifecycle hooks (`#[orm(hooks)]`).
    fn has_hooks(&self) -> bool;
    /// Makes the object read-only (its session has ended), or unusable when `strict`.
    fn detach(&self, strict: bool);
    /// For downcasting to the typed handle.
    fn as_any(&self) -> &dyn Any;
}

fn float(ty: SqlType) -> bool {
    matches!(ty, SqlType::Real | SqlType::Double)
}

/// Pony's optimistic check: the columns this session read or wrote, with the values it saw.
/// Keys are matched anyway; floats compare inexactly, so they are left out.
fn checks(meta: &EntityMeta, seen: Bits, saved: &[Value]) -> Vec<(usize, Value)> {
    (0..meta.columns.len())
        .filter(|&i| {
            let c = &meta.columns[i];
            seen.has(i) && c.optimistic && !c.primary_key && !float(c.ty)
        })
        .map(|i| (i, saved[i].clone()))
        .collect()
}

fn key_of(meta: &EntityMeta, values: &[Value]) -> Vec<Value> {
    meta.primary_key.iter().map(|&i| values[i].clone()).collect()
}

impl<E: Entity> Tracked for Handle<E> {
    fn meta(&self) -> &'static EntityMeta {
        E::meta()
    }

    fn pending(&self) -> Result<Option<Change>> {
        let meta = E::meta();
        let mut s = self.lock();
        match s.status {
            Status::Gone => Ok(None),
            Status::New => {
                s.value.before_insert()?;
                let generated_key = meta.auto_key().is_some() && s.value.key_is_unset();
                Ok(Some(Change::Insert { meta, values: s.value.column_values()?, generated_key }))
            }
            Status::Persistent if s.written.is_empty() => Ok(None),
            Status::Persistent => {
                s.value.before_update()?;
                let current = s.value.column_values()?;
                let saved = s.saved.as_deref().unwrap_or(&current);
                // The columns that differ from what the database holds: written ones (an
                // assignment of the value it had sends nothing) and any the hook changed.
                let set: Vec<(usize, Value)> = (0..meta.columns.len())
                    .filter(|&i| saved.get(i) != Some(&current[i]))
                    .map(|i| (i, current[i].clone()))
                    .collect();
                if let Some((i, _)) = set.iter().find(|(i, _)| meta.columns[*i].primary_key) {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{}.{} is part of the primary key, which cannot change",
                            meta.name, meta.columns[*i].field
                        ),
                    ));
                }
                if set.is_empty() {
                    return Ok(None);
                }
                Ok(Some(Change::Update {
                    meta,
                    set,
                    key: key_of(meta, saved),
                    checks: checks(meta, s.read.union(s.written), saved),
                }))
            }
            Status::Deleting => {
                s.value.before_delete()?;
                let current;
                let saved = match s.saved.as_deref() {
                    Some(saved) => saved,
                    None => {
                        current = s.value.column_values()?;
                        &current
                    }
                };
                Ok(Some(Change::Delete { meta, key: key_of(meta, saved), checks: checks(meta, s.read, saved) }))
            }
        }
    }

    fn applied(&self, change: &Change, generated_key: Option<i64>) -> Result<()> {
        let mut s = self.lock();
        match change {
            Change::Insert { .. } => {
                if let Some(key) = generated_key {
                    s.value.set_generated_key(key)?;
                }
                s.saved = None;
                s.status = Status::Persistent;
                s.read = Bits::default();
                s.written = Bits::default();
                s.value.after_insert()?;
            }
            Change::Update { .. } => {
                // The value is now what the database holds: the snapshot is taken afresh at the
                // next write.
                s.saved = None;
                s.written = Bits::default();
                s.value.after_update()?;
            }
            Change::Delete { .. } => {
                s.status = Status::Gone;
                s.value.after_delete()?;
            }
        }
        Ok(())
    }

    fn has_hooks(&self) -> bool {
        E::CUSTOM_HOOKS
    }

    fn map_key(&self) -> Result<Option<MapKey>> {
        let s = self.lock();
        // A new object deleted before its first flush is `Gone` and never got its key either.
        if matches!(s.status, Status::New | Status::Gone) && E::meta().auto_key().is_some() && s.value.key_is_unset() {
            return Ok(None);
        }
        Ok(Some(MapKey::of(&s.value.key().key_values()?)))
    }

    fn detach(&self, strict: bool) {
        let mut s = self.lock();
        s.detached = true;
        if strict {
            s.unusable = true;
            // Nothing may read it again: the snapshot is dead weight.
            s.saved = None;
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

type EntryKey = (usize, MapKey);

/// FxHash-style hashing: the map's keys are small integers and short byte strings, and an
/// attacker cannot choose which rows a session loads in a way that matters here.
#[derive(Default, Clone, Copy)]
struct FastHash(u64);

impl std::hash::Hasher for FastHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHash>>;

fn meta_id(meta: &'static EntityMeta) -> usize {
    meta as *const EntityMeta as usize
}

/// One object per row: the session's identity map, and the objects in the order they joined
/// the session (the order a flush writes them in).
#[derive(Default)]
pub struct IdentityMap {
    by_key: FastMap<EntryKey, usize>,
    objects: Vec<Box<dyn Tracked>>,
    /// New objects whose key the database has yet to generate, so not yet in `by_key`.
    unkeyed: Vec<usize>,
}

impl IdentityMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object of `E` with this key, if the session holds it.
    pub fn get<E: Entity>(&self, key: &[Value]) -> Option<Handle<E>> {
        let i = *self.by_key.get(&(meta_id(E::meta()), MapKey::of(key)))?;
        self.objects[i].as_any().downcast_ref::<Handle<E>>().cloned()
    }

    /// The session's object for a loaded row: the one it already holds (whose state wins: a row
    /// is one object), or a new persistent object with these column values.
    pub fn attach_loaded<E: Entity>(&mut self, mut value: E) -> Result<Handle<E>> {
        let key = (meta_id(E::meta()), MapKey::of(&value.key().key_values()?));
        if let Some(&i) = self.by_key.get(&key)
            && let Some(h) = self.objects[i].as_any().downcast_ref::<Handle<E>>()
        {
            return Ok(h.clone());
        }
        let saved = if E::CUSTOM_HOOKS { Some(value.column_values()?) } else { None };
        value.after_load()?;
        let handle = Handle::loaded(value, saved);
        self.by_key.insert(key, self.objects.len());
        self.objects.push(Box::new(handle.clone()));
        Ok(handle)
    }

    /// Registers a new object; it is inserted at the next flush. A key already in the map is a
    /// [`ErrorKind::UniqueViolation`], caught before the database sees it.
    pub fn add_new<E: Entity>(&mut self, value: E) -> Result<Handle<E>> {
        let handle = Handle::new_object(value);
        if let Some(bytes) = handle.map_key()? {
            let key = (meta_id(E::meta()), bytes);
            if self.by_key.contains_key(&key) {
                return Err(Error::new(
                    ErrorKind::UniqueViolation,
                    format!("the session already holds a {} with this key", E::meta().name),
                ));
            }
            self.by_key.insert(key, self.objects.len());
        } else {
            self.unkeyed.push(self.objects.len());
        }
        self.objects.push(Box::new(handle.clone()));
        Ok(handle)
    }

    /// Object `i`, in the order objects joined the session.
    pub fn object(&self, i: usize) -> &dyn Tracked {
        self.objects[i].as_ref()
    }

    /// Every object, in the order it joined the session.
    pub fn objects(&self) -> impl Iterator<Item = &dyn Tracked> {
        self.objects.iter().map(|o| o.as_ref())
    }

    /// Enters objects whose key became known at flush (generated keys) into the map.
    pub fn rekey(&mut self) -> Result<()> {
        let mut still_unkeyed = Vec::new();
        for &i in &self.unkeyed {
            let o = &self.objects[i];
            match o.map_key()? {
                Some(bytes) => {
                    self.by_key.entry((meta_id(o.meta()), bytes)).or_insert(i);
                }
                None => still_unkeyed.push(i),
            }
        }
        self.unkeyed = still_unkeyed;
        Ok(())
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Forgets every object (after a rollback or at the session's end), detaching them so that
    /// they refuse writes; with `strict` they refuse reads too.
    pub fn clear(&mut self, strict: bool) {
        for o in &self.objects {
            o.detach(strict);
        }
        self.objects.clear();
        self.by_key.clear();
        self.unkeyed.clear();
    }
}
