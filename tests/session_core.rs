//! The pure session core: handles track reads and writes, the identity map keeps one object per
//! row, and a flush plan carries Pony's optimistic checks. No database is involved.

#![allow(missing_docs)]

use nextorm::{Dialect, ErrorKind, Value};
use nextorm::{Entity, Set, Single};
use nextorm_core::session::{
    Change, Expect, FlushPlan, IdentityMap, Outcome, Step, change_sql, insert_batch_len, insert_batch_sql,
};

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Account {
    #[pk]
    id: i64,
    #[orm(max_len = 40)]
    owner: String,
    balance: i64,
    rate: f64,
    note: Option<String>,
    #[orm(optimistic = false)]
    seen: i64,
}

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Tag {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    #[orm(max_len = 20)]
    label: String,
}

const OWNER: usize = 1;
const BALANCE: usize = 2;
const RATE: usize = 3;
const NOTE: usize = 4;

fn account(id: i64) -> Account {
    Account { id, owner: "ann".into(), balance: 100, rate: 0.5, note: None, seen: 0 }
}

fn sql(change: &Change, d: Dialect) -> String {
    let s = change_sql(change, d);
    format!("{}  {:?}", s.text, s.binds)
}

#[test]
fn an_update_sets_written_columns_and_checks_what_was_seen() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(1)).unwrap();
    let owner = a.read(OWNER, |v| v.owner.clone());
    assert_eq!(owner, "ann");
    a.read(RATE, |v| v.rate); // floats never join the check
    a.write(BALANCE, |v| v.balance += 50).unwrap();
    let change = a.tracked().pending().unwrap().expect("an update");
    assert_eq!(
        sql(&change, Dialect::Postgres),
        r#"UPDATE "account" SET "balance" = $1 WHERE "id" = $2 AND "owner" = $3 AND "balance" = $4  [Int(150), Int(1), Text("ann"), Int(100)]"#
    );
    assert_eq!(
        sql(&change, Dialect::MariaDb),
        "UPDATE `account` SET `balance` = ? WHERE `id` = ? AND `owner` = ? AND `balance` = ?  [Int(150), Int(1), Text(\"ann\"), Int(100)]"
    );
    a.tracked().applied(&change, None).unwrap();
    assert!(a.tracked().pending().unwrap().is_none(), "nothing left after the flush");
    // The next update checks against the value the database now holds.
    a.write(BALANCE, |v| v.balance = 10).unwrap();
    match a.tracked().pending().unwrap() {
        Some(Change::Update { checks, .. }) => {
            assert!(checks.contains(&(BALANCE, Value::Int(150))));
            assert!(checks.contains(&(OWNER, Value::Text("ann".into()))));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn writing_the_same_value_sends_nothing_and_null_checks_are_is_null() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(2)).unwrap();
    a.write(OWNER, |v| v.owner = "ann".into()).unwrap();
    assert!(a.tracked().pending().unwrap().is_none());
    a.read(NOTE, |v| v.note.clone());
    a.write(OWNER, |v| v.owner = "bob".into()).unwrap();
    let change = a.tracked().pending().unwrap().unwrap();
    assert_eq!(
        sql(&change, Dialect::Sqlite),
        r#"UPDATE "account" SET "owner" = ? WHERE "id" = ? AND "owner" = ? AND "note" IS NULL  [Text("bob"), Int(2), Text("ann")]"#
    );
}

#[test]
fn one_object_per_row() {
    let mut map = IdentityMap::new();
    let first = map.attach_loaded(account(3)).unwrap();
    let mut stale = account(3);
    stale.balance = -1;
    let second = map.attach_loaded(stale).unwrap();
    assert!(first.same(&second), "the same row is the same object");
    assert_eq!(second.read(BALANCE, |v| v.balance), 100, "the session's object wins over a reloaded row");
    first.write(BALANCE, |v| v.balance = 7).unwrap();
    assert_eq!(second.read(BALANCE, |v| v.balance), 7, "a change through one handle shows through the other");
    assert!(map.get::<Account>(&[Value::Int(3)]).unwrap().same(&first));
    assert!(map.get::<Account>(&[Value::Int(4)]).is_none());
}

#[test]
fn new_objects_are_inserted_then_keyed() {
    let mut map = IdentityMap::new();
    let a = map.add_new(account(0)).unwrap();
    let change = a.tracked().pending().unwrap().unwrap();
    assert!(matches!(change, Change::Insert { generated_key: true, .. }));
    assert_eq!(
        sql(&change, Dialect::Postgres),
        r#"INSERT INTO "account" ("owner", "balance", "rate", "note", "seen") VALUES ($1, $2, $3, $4, $5) RETURNING "id"  [Text("ann"), Int(100), Float(0.5), Null(Text), Int(0)]"#
    );
    assert!(map.get::<Account>(&[Value::Int(9)]).is_none());
    a.tracked().applied(&change, Some(9)).unwrap();
    map.rekey().unwrap();
    assert!(map.get::<Account>(&[Value::Int(9)]).unwrap().same(&a), "the generated key finds the object");
    assert_eq!(a.read(0, |v| v.id), 9);
    let err = map.add_new(account(9)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UniqueViolation);
}

#[test]
fn deletes_check_what_was_read_and_deleted_objects_refuse_writes() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(5)).unwrap();
    a.read(OWNER, |v| v.owner.clone());
    a.delete().unwrap();
    let change = a.tracked().pending().unwrap().unwrap();
    assert_eq!(
        sql(&change, Dialect::Sqlite),
        r#"DELETE FROM "account" WHERE "id" = ? AND "owner" = ?  [Int(5), Text("ann")]"#
    );
    assert_eq!(a.write(BALANCE, |v| v.balance = 1).unwrap_err().kind(), ErrorKind::Config);
    a.tracked().applied(&change, None).unwrap();
    assert!(a.tracked().pending().unwrap().is_none());
    // A new object deleted before any flush never reaches the database.
    let b = map.add_new(account(0)).unwrap();
    b.delete().unwrap();
    assert!(b.tracked().pending().unwrap().is_none());
    map.rekey().unwrap();
    assert!(map.get::<Account>(&[Value::Int(0)]).is_none(), "it never got a key, so it is not filed under 0");
}

#[test]
fn key_changes_are_refused_and_cleared_sessions_detach_objects() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(6)).unwrap();
    a.write(0, |v| v.id = 60).unwrap();
    assert_eq!(a.tracked().pending().unwrap_err().kind(), ErrorKind::Unsupported);
    let b = map.attach_loaded(account(7)).unwrap();
    map.clear(false);
    assert!(map.is_empty());
    assert_eq!(b.read(BALANCE, |v| v.balance), 100, "still readable");
    assert_eq!(b.write(BALANCE, |v| v.balance = 1).unwrap_err().kind(), ErrorKind::Config, "but read-only");
}

#[test]
fn a_cleared_map_detaches_every_object_something_else_holds() {
    use nextorm_core::session::{Edge, Links};
    // A cleared map skips the lock of an object that only it holds; one reached through
    // another object's link is held all the same, and must refuse writes.
    let mut map = IdentityMap::new();
    let holder = map.attach_loaded(account(8)).unwrap();
    let linked = map.attach_loaded(account(9)).unwrap();
    holder.tracked().detach(false, Some(Links::one_field(&"next", [Edge::Held(linked.erased())])));
    drop(linked);
    let alone = map.attach_loaded(account(10)).unwrap().downgrade();
    map.clear(false);
    assert!(alone.upgrade().is_none(), "held by the map alone, it is freed with it");
    let linked = {
        let state = holder.lock();
        let edge = state.links.get("next").and_then(|mut edges| edges.next().cloned()).expect("the link is kept");
        nextorm::Handle::<Account>::from_edge(&edge).expect("held by the link")
    };
    assert_eq!(linked.lock().value.id, 9);
    assert_eq!(linked.write(BALANCE, |v| v.balance = 1).unwrap_err().kind(), ErrorKind::Config, "read-only");
}

#[test]
fn rendered_changes_never_splice_values() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(8)).unwrap();
    a.write(OWNER, |v| v.owner = "x'); DROP TABLE account; --".into()).unwrap();
    let change = a.tracked().pending().unwrap().unwrap();
    for d in Dialect::ALL {
        let s = change_sql(&change, d);
        assert!(!s.text.contains("DROP"), "{}", s.text);
        assert_eq!(s.placeholders, s.binds.len());
    }
}

#[test]
fn to_dict_with_only_and_exclude() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(Account { note: Some("n".into()), ..account(11) }).unwrap();
    let all = a.to_dict(&[], &[]).unwrap();
    assert_eq!(
        serde_json::Value::Object(all),
        serde_json::json!({"id": 11, "owner": "ann", "balance": 100, "rate": 0.5, "note": "n", "seen": 0})
    );
    let some = a.to_dict(&["owner", "note"], &["note"]).unwrap();
    assert_eq!(serde_json::Value::Object(some), serde_json::json!({"owner": "ann"}));
    assert_eq!(a.to_dict(&["nope"], &[]).unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(nextorm::to_dict(&account(12), &["id"], &[]).unwrap().get("id"), Some(&serde_json::json!(12)));
}

#[test]
fn fields_can_leave_the_optimistic_check() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(13)).unwrap();
    a.read(5, |v| v.seen);
    a.write(5, |v| v.seen = 7).unwrap();
    let change = a.tracked().pending().unwrap().unwrap();
    assert_eq!(
        sql(&change, Dialect::Sqlite),
        r#"UPDATE "account" SET "seen" = ? WHERE "id" = ?  [Int(7), Int(13)]"#,
        "`seen` is set but not checked"
    );
    let b = map.attach_loaded(account(14)).unwrap();
    b.read(5, |v| v.seen);
    b.read(OWNER, |v| v.owner.clone());
    b.delete().unwrap();
    assert_eq!(
        sql(&b.tracked().pending().unwrap().unwrap(), Dialect::Sqlite),
        r#"DELETE FROM "account" WHERE "id" = ? AND "owner" = ?  [Int(14), Text("ann")]"#,
        "a delete checks what was read, except `seen`"
    );
}

#[test]
fn inserts_are_batched_per_entity_and_kind_of_key() {
    let mut map = IdentityMap::new();
    let mut changes: Vec<Change> = Vec::new();
    for id in 1..=3 {
        let t = map.add_new(Tag { id, label: format!("t{id}") }).unwrap();
        changes.push(t.tracked().pending().unwrap().unwrap());
    }
    changes.push(map.add_new(account(0)).unwrap().tracked().pending().unwrap().unwrap());
    changes.push(map.add_new(Tag { id: 4, label: "t4".into() }).unwrap().tracked().pending().unwrap().unwrap());
    assert_eq!(insert_batch_len(&changes, Dialect::Sqlite), 3, "the three tags, up to the account");
    assert_eq!(insert_batch_len(&changes[3..], Dialect::Sqlite), 1, "the account, up to the next tag");
    assert_eq!(insert_batch_len(&changes[5..], Dialect::Sqlite), 0);
    let batch = insert_batch_sql(&changes[..3], Dialect::Postgres).unwrap();
    assert_eq!(
        format!("{}  {:?}", batch.text, batch.binds),
        r#"INSERT INTO "tag" ("id", "label") VALUES ($1, $2), ($3, $4), ($5, $6)  [Int(1), Text("t1"), Int(2), Text("t2"), Int(3), Text("t3")]"#
    );
    assert_eq!(
        insert_batch_sql(&changes[..2], Dialect::MariaDb).unwrap().text,
        "INSERT INTO `tag` (`id`, `label`) VALUES (?, ?), (?, ?)"
    );
    assert!(insert_batch_sql(&changes[2..4], Dialect::Sqlite).is_none(), "not one entity with given keys");
    // Generated keys share a batch too, returned in the order of the rows; a given key among
    // them starts another.
    let accounts: Vec<Change> = [0, 0, 9, 0]
        .into_iter()
        .map(|id| map.add_new(account(id)).unwrap().tracked().pending().unwrap().unwrap())
        .collect();
    assert_eq!(insert_batch_len(&accounts, Dialect::Sqlite), 2);
    assert_eq!(insert_batch_len(&accounts[2..], Dialect::Sqlite), 1);
    for (d, text) in [
        (
            Dialect::Sqlite,
            r#"INSERT INTO "account" ("owner", "balance", "rate", "note", "seen") VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) RETURNING "id""#,
        ),
        (
            Dialect::Postgres,
            r#"INSERT INTO "account" ("owner", "balance", "rate", "note", "seen") VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10) RETURNING "id""#,
        ),
        (
            Dialect::MariaDb,
            "INSERT INTO `account` (`owner`, `balance`, `rate`, `note`, `seen`) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) RETURNING `id`",
        ),
    ] {
        let batch = insert_batch_sql(&accounts[..2], d).unwrap();
        assert_eq!(batch.text, text);
        assert_eq!(batch.binds.len(), 10, "the generated key is not bound");
    }
    assert!(insert_batch_sql(&accounts[1..3], Dialect::Sqlite).is_none(), "generated and given keys");
    // A batch stops at 256 rows.
    let many: Vec<Change> = (10..600)
        .map(|id| map.add_new(Tag { id, label: String::new() }).unwrap().tracked().pending().unwrap().unwrap())
        .collect();
    assert_eq!(insert_batch_len(&many, Dialect::Postgres), 256);
}

#[test]
fn update_texts_follow_each_shape() {
    let meta = <Account as nextorm::Entity>::meta();
    let update = |set: Vec<(usize, Value)>, checks: Vec<(usize, Value)>| {
        let previous = set.iter().map(|_| Value::Int(0)).collect();
        sql(&Change::Update { meta, set, previous, key: vec![Value::Int(1)], checks }, Dialect::Sqlite)
    };
    let balance = update(vec![(BALANCE, Value::Int(1))], vec![]);
    assert_eq!(balance, r#"UPDATE "account" SET "balance" = ? WHERE "id" = ?  [Int(1), Int(1)]"#);
    let null_check = update(vec![(BALANCE, Value::Int(1))], vec![(NOTE, Value::Null(nextorm_core::Kind::Text))]);
    assert_eq!(null_check, r#"UPDATE "account" SET "balance" = ? WHERE "id" = ? AND "note" IS NULL  [Int(1), Int(1)]"#);
    let value_check = update(vec![(BALANCE, Value::Int(1))], vec![(NOTE, Value::Text("n".into()))]);
    assert_eq!(
        value_check,
        r#"UPDATE "account" SET "balance" = ? WHERE "id" = ? AND "note" = ?  [Int(1), Int(1), Text("n")]"#
    );
    // Columns out of order (a hand-built change) still pair each column with its value.
    let reversed = update(vec![(NOTE, Value::Text("x".into())), (OWNER, Value::Text("o".into()))], vec![]);
    assert_eq!(
        reversed,
        r#"UPDATE "account" SET "note" = ?, "owner" = ? WHERE "id" = ?  [Text("x"), Text("o"), Int(1)]"#
    );
    let sorted = update(vec![(OWNER, Value::Text("o".into())), (NOTE, Value::Text("x".into()))], vec![]);
    assert_eq!(
        sorted,
        r#"UPDATE "account" SET "owner" = ?, "note" = ? WHERE "id" = ?  [Text("o"), Text("x"), Int(1)]"#
    );
}

#[test]
fn a_long_chain_of_links_is_freed_without_deep_recursion() {
    use nextorm_core::session::{Edge, Links};
    // Run on a thread with a small stack: dropping 200,000 links recursively would overflow it.
    let freed = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut map = IdentityMap::new();
            let handles: Vec<_> = (1..=200_000).map(|id| map.attach_loaded(account(id)).unwrap()).collect();
            for pair in handles.windows(2) {
                pair[0].tracked().detach(false, Some(Links::one_field(&"next", [Edge::Held(pair[1].erased())])));
            }
            drop(map);
            let tail = handles[handles.len() - 1].downgrade();
            let next = nextorm::Handle::<Account>::from_edge(&Edge::Held(handles[1].erased()));
            assert!(next.is_some_and(|h| h.lock().value.id == 2), "a link leads to its object");
            let mut handles = handles;
            handles.truncate(1);
            assert!(tail.upgrade().is_some(), "held through the chain");
            drop(handles);
            tail.upgrade().is_none()
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(freed, "the whole chain was freed");
}

#[test]
fn a_tree_of_links_is_freed_with_its_root() {
    use nextorm_core::session::{Edge, Links};
    // A root holding 100 objects that hold 10 each; the first leaf is also held by the last
    // middle object, and one middle object is kept from outside.
    let mut map = IdentityMap::new();
    let handles: Vec<_> = (1..=1_101).map(|id| map.attach_loaded(account(id)).unwrap()).collect();
    let (root, rest) = handles.split_first().unwrap();
    let (middle, leaves) = rest.split_at(100);
    for (at, (owner, members)) in middle.iter().zip(leaves.chunks(10)).enumerate() {
        let shared = (at == 99).then(|| &leaves[0]);
        let edges = members.iter().chain(shared).map(|m| Edge::Held(m.erased()));
        owner.tracked().detach(false, Some(Links::one_field(&"members", edges)));
    }
    root.tracked().detach(false, Some(Links::one_field(&"members", middle.iter().map(|m| Edge::Held(m.erased())))));
    drop(map);
    let watched: Vec<_> = handles.iter().map(|h| h.downgrade()).collect();
    let (root, kept) = (root.clone(), middle[5].clone());
    drop(handles);
    assert!(watched.iter().all(|w| w.upgrade().is_some()), "the root holds every level");
    drop(root);
    let alive: Vec<i64> = watched.iter().filter_map(|w| w.upgrade()).map(|h| h.lock().value.id).collect();
    assert_eq!(alive, (7..=7).chain(152..=161).collect::<Vec<_>>(), "only the kept object and its members are left");
    drop(kept);
    assert!(watched.iter().all(|w| w.upgrade().is_none()), "every object was freed once nothing held it");
}

/// An entity whose value panics when dropped while [`FRAGILE_ARMED`] is set.
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Fragile {
    #[pk]
    #[orm(auto = false)]
    id: i64,
}

static FRAGILE_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Drop for Fragile {
    fn drop(&mut self) {
        if FRAGILE_ARMED.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("Fragile {} panics as it is dropped", self.id);
        }
    }
}

#[test]
fn links_still_free_what_they_hold_after_a_drop_panicked() {
    use nextorm_core::session::{Edge, Links};
    let mut map = IdentityMap::new();
    let holder = map.attach_loaded(account(1)).unwrap();
    let fragile: Vec<_> = (13..=14).map(|id| map.attach_loaded(Fragile { id }).unwrap()).collect();
    holder.tracked().detach(false, Some(Links::one_field(&"fragile", fragile.iter().map(|f| Edge::Held(f.erased())))));
    drop(map);
    let watched: Vec<_> = fragile.iter().map(|f| f.downgrade()).collect();
    drop(fragile);
    FRAGILE_ARMED.store(true, std::sync::atomic::Ordering::SeqCst);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(holder)));
    assert!(dropped.is_err(), "the value's drop panicked");
    assert!(watched.iter().all(|w| w.upgrade().is_none()), "both objects were dropped, the panicking one too");
    // The panic left no drop running on this thread: a link dropped now frees its object.
    let mut map = IdentityMap::new();
    let (a, b) = (map.attach_loaded(account(2)).unwrap(), map.attach_loaded(account(3)).unwrap());
    a.tracked().detach(false, Some(Links::one_field(&"next", [Edge::Held(b.erased())])));
    drop(map);
    let b_watched = b.downgrade();
    drop(b);
    drop(a);
    assert!(b_watched.upgrade().is_none(), "a link dropped after the panic freed its object");
}

#[test]
fn a_session_end_detaches_objects_with_and_without_links() {
    let mut map = IdentityMap::new();
    let team = map.attach_loaded(Team { id: 1, name: "t".into(), players: Set::new() }).unwrap();
    let player = map.attach_loaded(Player { id: 5, number: 9, team: Single::new(1) }).unwrap();
    let badge = map.attach_loaded(Badge { id: 2, code: "b".into() }).unwrap();
    map.set_loaded(team.addr(), Team::meta().relation("players").unwrap());
    map.end(false);
    let players = team.players().loaded().unwrap();
    assert!(players.len() == 1 && players[0].same(&player), "the loaded collection is kept");
    for refused in [team.set_name("u"), player.set_number(1), badge.set_code("c")] {
        assert_eq!(refused.unwrap_err().kind(), ErrorKind::Config, "every object is read-only after its session");
    }
    assert_eq!(badge.code(), "b", "an object without links stays readable");
}

// The flush plan: the steps a flush sends and what it does with their outcomes, run here with
// made-up outcomes instead of a database.

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Team {
    #[pk]
    id: i64,
    #[orm(max_len = 20)]
    name: String,
    players: Set<Player>,
}

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Player {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    number: i64,
    team: Single<Team>,
}

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Badge {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    #[orm(unique, max_len = 20)]
    code: String,
}

/// As many columns as a session allows (128): a batch of these reaches SQLite's bind limit
/// (32766) before 256 rows.
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Wide {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    c1: i64,
    c2: i64,
    c3: i64,
    c4: i64,
    c5: i64,
    c6: i64,
    c7: i64,
    c8: i64,
    c9: i64,
    c10: i64,
    c11: i64,
    c12: i64,
    c13: i64,
    c14: i64,
    c15: i64,
    c16: i64,
    c17: i64,
    c18: i64,
    c19: i64,
    c20: i64,
    c21: i64,
    c22: i64,
    c23: i64,
    c24: i64,
    c25: i64,
    c26: i64,
    c27: i64,
    c28: i64,
    c29: i64,
    c30: i64,
    c31: i64,
    c32: i64,
    c33: i64,
    c34: i64,
    c35: i64,
    c36: i64,
    c37: i64,
    c38: i64,
    c39: i64,
    c40: i64,
    c41: i64,
    c42: i64,
    c43: i64,
    c44: i64,
    c45: i64,
    c46: i64,
    c47: i64,
    c48: i64,
    c49: i64,
    c50: i64,
    c51: i64,
    c52: i64,
    c53: i64,
    c54: i64,
    c55: i64,
    c56: i64,
    c57: i64,
    c58: i64,
    c59: i64,
    c60: i64,
    c61: i64,
    c62: i64,
    c63: i64,
    c64: i64,
    c65: i64,
    c66: i64,
    c67: i64,
    c68: i64,
    c69: i64,
    c70: i64,
    c71: i64,
    c72: i64,
    c73: i64,
    c74: i64,
    c75: i64,
    c76: i64,
    c77: i64,
    c78: i64,
    c79: i64,
    c80: i64,
    c81: i64,
    c82: i64,
    c83: i64,
    c84: i64,
    c85: i64,
    c86: i64,
    c87: i64,
    c88: i64,
    c89: i64,
    c90: i64,
    c91: i64,
    c92: i64,
    c93: i64,
    c94: i64,
    c95: i64,
    c96: i64,
    c97: i64,
    c98: i64,
    c99: i64,
    c100: i64,
    c101: i64,
    c102: i64,
    c103: i64,
    c104: i64,
    c105: i64,
    c106: i64,
    c107: i64,
    c108: i64,
    c109: i64,
    c110: i64,
    c111: i64,
    c112: i64,
    c113: i64,
    c114: i64,
    c115: i64,
    c116: i64,
    c117: i64,
    c118: i64,
    c119: i64,
    c120: i64,
    c121: i64,
    c122: i64,
    c123: i64,
    c124: i64,
    c125: i64,
    c126: i64,
    c127: i64,
}

const PLAYER_TEAM: usize = 2;
const BADGE_CODE: usize = 1;

/// Runs a flush plan as the engine's runner does, answering each step with `answer`: the steps
/// sent, or the first error.
fn run_plan(
    map: &mut IdentityMap,
    committing: bool,
    mut answer: impl FnMut(&Step) -> Outcome,
) -> nextorm::Result<Vec<Step>> {
    let mut plan = FlushPlan::new(map, Dialect::Sqlite, committing)?;
    let mut sent = Vec::new();
    while let Some(step) = plan.next_step(map)? {
        let outcome = answer(&step);
        plan.outcome(map, outcome)?;
        sent.push(step);
    }
    Ok(sent)
}

fn one_row(_: &Step) -> Outcome {
    Outcome::Rows(1)
}

fn texts(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.sql.text.as_str()).collect()
}

#[test]
fn a_plan_inserts_the_referenced_object_first_and_feeds_its_generated_key_back() {
    let mut map = IdentityMap::new();
    map.attach_loaded(Team { id: 1, name: "old".into(), players: Set::new() }).unwrap();
    let player = map.add_new(Player { id: 7, number: 10, team: Single::new(1) }).unwrap();
    let team = map.add_new(Team { id: 0, name: "new".into(), players: Set::new() }).unwrap();
    // The player joined first, but now refers to the team created after it.
    player.write(PLAYER_TEAM, |p| p.team = Single::from(&team)).unwrap();
    let steps = run_plan(&mut map, true, |s| match s.expect {
        Expect::GeneratedKey => Outcome::GeneratedKey(41),
        _ => Outcome::Rows(1),
    })
    .unwrap();
    assert_eq!(
        texts(&steps),
        [
            r#"INSERT INTO "team" ("name") VALUES (?)"#,
            r#"INSERT INTO "player" ("id", "number", "team") VALUES (?, ?, ?)"#
        ]
    );
    assert_eq!(steps[0].expect, Expect::GeneratedKey);
    assert_eq!(steps[0].objects, [2]);
    assert_eq!(steps[1].expect, Expect::AnyCount);
    assert_eq!(steps[1].objects, [1]);
    // The player's values are read again after the key was generated.
    assert_eq!(steps[1].sql.binds, [Value::Int(7), Value::Int(10), Value::Int(41)]);
    assert!(steps.iter().all(|s| s.in_transaction), "a generated key is never sent alone in autocommit");
    assert_eq!(team.read(0, |t| t.id), 41);
    assert!(map.index_of(<Team as nextorm::Entity>::meta(), &[Value::Int(41)]).is_some(), "the new key is in the map");
    assert!(run_plan(&mut map, false, one_row).unwrap().is_empty(), "nothing left to flush");
}

#[test]
fn a_deleted_parent_cascades_in_the_map_and_its_children_are_deleted_first() {
    let mut map = IdentityMap::new();
    let team = map.attach_loaded(Team { id: 1, name: "old".into(), players: Set::new() }).unwrap();
    let player = map.attach_loaded(Player { id: 7, number: 10, team: Single::new(1) }).unwrap();
    team.delete().unwrap();
    let steps = run_plan(&mut map, false, one_row).unwrap();
    assert_eq!(texts(&steps), [r#"DELETE FROM "player" WHERE "id" = ?"#, r#"DELETE FROM "team" WHERE "id" = ?"#]);
    assert!(steps.iter().all(|s| s.expect == Expect::OneRow));
    assert!(!player.tracked().live(), "the cascade deleted the player in the map");
}

#[test]
fn a_unique_value_is_written_after_the_change_that_frees_it() {
    let mut map = IdentityMap::new();
    let first = map.attach_loaded(Badge { id: 1, code: "A".into() }).unwrap();
    let second = map.attach_loaded(Badge { id: 2, code: "B".into() }).unwrap();
    first.write(BADGE_CODE, |b| b.code = "B".into()).unwrap();
    second.write(BADGE_CODE, |b| b.code = "C".into()).unwrap();
    let steps = run_plan(&mut map, false, one_row).unwrap();
    let sent: Vec<_> = steps.iter().map(|s| (s.objects.clone(), s.sql.binds[0].clone())).collect();
    assert_eq!(sent, [(vec![1], Value::Text("C".into())), (vec![0], Value::Text("B".into()))]);
}

/// A [`Wide`] row: every column but the key 0.
fn wide(id: i64) -> Wide {
    Wide {
        id,
        c1: 0,
        c2: 0,
        c3: 0,
        c4: 0,
        c5: 0,
        c6: 0,
        c7: 0,
        c8: 0,
        c9: 0,
        c10: 0,
        c11: 0,
        c12: 0,
        c13: 0,
        c14: 0,
        c15: 0,
        c16: 0,
        c17: 0,
        c18: 0,
        c19: 0,
        c20: 0,
        c21: 0,
        c22: 0,
        c23: 0,
        c24: 0,
        c25: 0,
        c26: 0,
        c27: 0,
        c28: 0,
        c29: 0,
        c30: 0,
        c31: 0,
        c32: 0,
        c33: 0,
        c34: 0,
        c35: 0,
        c36: 0,
        c37: 0,
        c38: 0,
        c39: 0,
        c40: 0,
        c41: 0,
        c42: 0,
        c43: 0,
        c44: 0,
        c45: 0,
        c46: 0,
        c47: 0,
        c48: 0,
        c49: 0,
        c50: 0,
        c51: 0,
        c52: 0,
        c53: 0,
        c54: 0,
        c55: 0,
        c56: 0,
        c57: 0,
        c58: 0,
        c59: 0,
        c60: 0,
        c61: 0,
        c62: 0,
        c63: 0,
        c64: 0,
        c65: 0,
        c66: 0,
        c67: 0,
        c68: 0,
        c69: 0,
        c70: 0,
        c71: 0,
        c72: 0,
        c73: 0,
        c74: 0,
        c75: 0,
        c76: 0,
        c77: 0,
        c78: 0,
        c79: 0,
        c80: 0,
        c81: 0,
        c82: 0,
        c83: 0,
        c84: 0,
        c85: 0,
        c86: 0,
        c87: 0,
        c88: 0,
        c89: 0,
        c90: 0,
        c91: 0,
        c92: 0,
        c93: 0,
        c94: 0,
        c95: 0,
        c96: 0,
        c97: 0,
        c98: 0,
        c99: 0,
        c100: 0,
        c101: 0,
        c102: 0,
        c103: 0,
        c104: 0,
        c105: 0,
        c106: 0,
        c107: 0,
        c108: 0,
        c109: 0,
        c110: 0,
        c111: 0,
        c112: 0,
        c113: 0,
        c114: 0,
        c115: 0,
        c116: 0,
        c117: 0,
        c118: 0,
        c119: 0,
        c120: 0,
        c121: 0,
        c122: 0,
        c123: 0,
        c124: 0,
        c125: 0,
        c126: 0,
        c127: 0,
    }
}

#[test]
fn columns_past_the_sixty_fourth_are_tracked_like_the_first() {
    // An object keeps its first 64 columns' sets inline and the rest apart: a read and a write
    // past the 64th must join the update and its check like any other.
    let mut map = IdentityMap::new();
    let w = map.attach_loaded(wide(1)).unwrap();
    w.read(100, |v| v.c100);
    w.read(2, |v| v.c2);
    w.write(3, |v| v.c3 = 30).unwrap();
    w.write(127, |v| v.c127 = 1270).unwrap();
    match w.tracked().pending().unwrap() {
        Some(Change::Update { set, checks, .. }) => {
            assert_eq!(set, [(3, Value::Int(30)), (127, Value::Int(1270))], "both written columns are sent");
            let checked: Vec<usize> = checks.iter().map(|(i, _)| *i).collect();
            assert_eq!(checked, [2, 3, 100, 127], "read and written columns are checked, past 64 too");
        }
        other => panic!("{other:?}"),
    }
    let change = w.tracked().pending().unwrap().expect("still pending");
    w.tracked().applied(&change, None).unwrap();
    assert!(w.tracked().pending().unwrap().is_none(), "nothing left after the flush, past 64 either");
}

#[test]
fn batches_split_at_256_rows_and_at_the_bind_limit() {
    let mut map = IdentityMap::new();
    for id in 0..300 {
        map.add_new(Tag { id, label: format!("t{id}") }).unwrap();
    }
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(steps.iter().map(|s| s.writes).collect::<Vec<_>>(), [256, 44]);
    assert_eq!(steps[1].objects, (256..300).collect::<Vec<_>>());
    assert!(steps.iter().all(|s| s.in_transaction && s.expect == Expect::AnyCount));
    for id in 0..300 {
        map.add_new(wide(id)).unwrap();
    }
    let steps = run_plan(&mut map, false, one_row).unwrap();
    // 32766 binds / 128 columns: 255 rows.
    assert_eq!(steps.iter().map(|s| s.writes).collect::<Vec<_>>(), [255, 45]);
    assert_eq!(steps[0].sql.binds.len(), 255 * 128);
}

#[test]
fn a_commit_of_one_statement_sends_it_alone_in_autocommit() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(1)).unwrap();
    let b = map.attach_loaded(account(2)).unwrap();
    a.write(BALANCE, |v| v.balance = 1).unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(steps.len(), 1);
    assert!(!steps[0].in_transaction, "one statement then a commit: autocommit");
    a.write(BALANCE, |v| v.balance = 2).unwrap();
    let steps = run_plan(&mut map, false, one_row).unwrap();
    assert!(steps[0].in_transaction, "a flush before more work opens the transaction");
    a.write(BALANCE, |v| v.balance = 3).unwrap();
    b.write(BALANCE, |v| v.balance = 3).unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s.in_transaction), "two statements share a transaction");
    for id in 0..3 {
        map.add_new(Tag { id, label: String::new() }).unwrap();
    }
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!((steps.len(), steps[0].writes, steps[0].in_transaction), (1, 3, false), "one multi-row INSERT");
}

#[test]
fn an_update_or_delete_that_matches_no_row_is_an_optimistic_conflict() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(account(1)).unwrap();
    a.write(BALANCE, |v| v.balance = 1).unwrap();
    let e = run_plan(&mut map, false, |_| Outcome::Rows(0)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OptimisticConflict);
    assert!(e.to_string().contains("so it was not updated"), "{e}");
    let mut map = IdentityMap::new();
    let b = map.attach_loaded(account(2)).unwrap();
    b.delete().unwrap();
    let e = run_plan(&mut map, false, |_| Outcome::Rows(0)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OptimisticConflict);
    assert!(e.to_string().contains("so it was not deleted"), "{e}");
    // An insert with a given key accepts any count.
    let mut map = IdentityMap::new();
    map.add_new(Tag { id: 1, label: String::new() }).unwrap();
    assert_eq!(run_plan(&mut map, false, |_| Outcome::Rows(0)).unwrap().len(), 1);
}

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Club {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    members: Set<Member>,
}

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Member {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    clubs: Set<Club>,
}

/// A session holding club 1, whose members were read (so the database holds no pair the
/// session does not know of), and member 2.
fn club_and_member() -> (IdentityMap, &'static nextorm::RelationMeta, usize, usize) {
    let club_meta = <Club as nextorm::Entity>::meta();
    let members = club_meta.relations.iter().find(|r| r.field == "members").unwrap();
    let mut map = IdentityMap::new();
    let club = map.attach_loaded(Club { id: 1, members: Set::new() }).unwrap().addr();
    let member = map.attach_loaded(Member { id: 2, clubs: Set::new() }).unwrap().addr();
    map.set_loaded(club, members);
    (map, members, club, member)
}

#[test]
fn pair_changes_follow_the_objects_changes_and_an_added_pair_must_insert_one_row() {
    let club_meta = <Club as nextorm::Entity>::meta();
    let (mut map, members, club_addr, member_addr) = club_and_member();
    map.change_pair(club_meta, members, club_addr, member_addr, true).unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(texts(&steps), [r#"INSERT INTO "club_member" ("member_id", "club_id") VALUES (?, ?)"#]);
    assert_eq!((steps[0].expect, steps[0].in_transaction, steps[0].objects.len()), (Expect::OneRow, false, 0));
    assert!(run_plan(&mut map, true, one_row).unwrap().is_empty(), "the pair was recorded as flushed");
    // A removal may find no row; pairs follow the objects' own changes.
    map.change_pair(club_meta, members, club_addr, member_addr, false).unwrap();
    let new_club = map.add_new(Club { id: 3, members: Set::new() }).unwrap();
    map.set_loaded(new_club.addr(), members);
    map.change_pair(club_meta, members, new_club.addr(), member_addr, true).unwrap();
    let mut sent = Vec::new();
    let e = run_plan(&mut map, true, |s| {
        sent.push((s.sql.text.clone(), s.expect));
        Outcome::Rows(0)
    })
    .unwrap_err();
    let expected = [
        (r#"INSERT INTO "club" ("id") VALUES (?)"#, Expect::AnyCount),
        (r#"DELETE FROM "club_member" WHERE "member_id" = ? AND "club_id" = ?"#, Expect::AnyCount),
        (r#"INSERT INTO "club_member" ("member_id", "club_id") VALUES (?, ?)"#, Expect::OneRow),
    ];
    assert_eq!(sent, expected.map(|(t, e)| (t.to_owned(), e)));
    assert!(e.to_string().ends_with("a join-table change affected 0 rows"), "{e}");
}

#[test]
fn a_commit_with_one_change_and_a_pair_change_is_one_transaction() {
    let club_meta = <Club as nextorm::Entity>::meta();
    let (mut map, members, _, member_addr) = club_and_member();
    let new_club = map.add_new(Club { id: 3, members: Set::new() }).unwrap();
    map.set_loaded(new_club.addr(), members);
    map.change_pair(club_meta, members, new_club.addr(), member_addr, true).unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(steps.len(), 2, "the club's INSERT, then the pair's");
    assert!(steps.iter().all(|s| s.in_transaction), "neither goes alone in autocommit: both or neither are written");
}

// Changes that wait for each other in a cycle: refused by the plan, before any statement.

/// Runs a plan that must be refused: the error, and that no step was asked for.
fn refused(map: &mut IdentityMap) -> nextorm::Error {
    let mut asked = 0;
    let e = run_plan(map, true, |_| {
        asked += 1;
        Outcome::Rows(1)
    })
    .unwrap_err();
    assert_eq!(asked, 0, "nothing may be sent before the refusal");
    e
}

fn badges(map: &mut IdentityMap, codes: &[&str]) -> Vec<nextorm::Handle<Badge>> {
    codes.iter().zip(1..).map(|(code, id)| map.attach_loaded(Badge { id, code: (*code).into() }).unwrap()).collect()
}

#[test]
fn a_swap_of_two_unique_values_is_refused() {
    let mut map = IdentityMap::new();
    let b = badges(&mut map, &["A", "B"]);
    b[0].write(BADGE_CODE, |b| b.code = "B".into()).unwrap();
    b[1].write(BADGE_CODE, |b| b.code = "A".into()).unwrap();
    let e = refused(&mut map);
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(
        e.message(),
        "a flush cannot order these changes: Badge[1].code and Badge[2].code take each other's unique value; \
         flush between the writes (give one a temporary value first)"
    );
}

#[test]
fn a_rotation_of_three_unique_values_is_refused() {
    let mut map = IdentityMap::new();
    let b = badges(&mut map, &["A", "B", "C"]);
    b[0].write(BADGE_CODE, |b| b.code = "B".into()).unwrap();
    b[1].write(BADGE_CODE, |b| b.code = "C".into()).unwrap();
    b[2].write(BADGE_CODE, |b| b.code = "A".into()).unwrap();
    let e = refused(&mut map);
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(
        e.message(),
        "a flush cannot order these changes: Badge[1].code, Badge[2].code and Badge[3].code take each other's \
         unique values in a cycle; flush between the writes (give one a temporary value first)"
    );
}

#[test]
fn a_swap_through_a_temporary_value_takes_two_flushes() {
    let mut map = IdentityMap::new();
    let b = badges(&mut map, &["A", "B"]);
    b[0].write(BADGE_CODE, |b| b.code = "tmp".into()).unwrap();
    assert_eq!(run_plan(&mut map, false, one_row).unwrap().len(), 1);
    b[1].write(BADGE_CODE, |b| b.code = "A".into()).unwrap();
    b[0].write(BADGE_CODE, |b| b.code = "B".into()).unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    let sent: Vec<_> = steps.iter().map(|s| (s.objects.clone(), s.sql.binds[0].clone())).collect();
    assert_eq!(sent, [(vec![1], Value::Text("A".into())), (vec![0], Value::Text("B".into()))]);
}

#[test]
fn a_unique_value_freed_by_a_delete_is_inserted_after_it() {
    let mut map = IdentityMap::new();
    let b = badges(&mut map, &["A"]);
    map.add_new(Badge { id: 9, code: "A".into() }).unwrap();
    b[0].delete().unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(
        texts(&steps),
        [r#"DELETE FROM "badge" WHERE "id" = ?"#, r#"INSERT INTO "badge" ("id", "code") VALUES (?, ?)"#]
    );
}

#[test]
fn generated_keys_are_batched_per_entity_and_fed_to_the_rows_that_follow() {
    let mut map = IdentityMap::new();
    let teams: Vec<_> =
        (0..3).map(|i| map.add_new(Team { id: 0, name: format!("t{i}"), players: Set::new() }).unwrap()).collect();
    let players: Vec<_> = (0..3)
        .map(|i| map.add_new(Player { id: 10 + i, number: i, team: Single::from(&teams[i as usize]) }).unwrap())
        .collect();
    let steps = run_plan(&mut map, true, |s| match s.expect {
        Expect::GeneratedKeys => Outcome::GeneratedKeys(vec![41, 42, 43]),
        _ => Outcome::Rows(3),
    })
    .unwrap();
    assert_eq!(
        texts(&steps),
        [
            r#"INSERT INTO "team" ("name") VALUES (?), (?), (?) RETURNING "id""#,
            r#"INSERT INTO "player" ("id", "number", "team") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"#
        ]
    );
    assert_eq!((steps[0].expect, steps[0].objects.clone()), (Expect::GeneratedKeys, vec![0, 1, 2]));
    assert_eq!((steps[1].expect, steps[1].objects.clone()), (Expect::AnyCount, vec![3, 4, 5]));
    assert_eq!(teams.iter().map(|t| t.read(0, |t| t.id)).collect::<Vec<_>>(), [41, 42, 43], "keys in row order");
    let team_binds: Vec<&Value> = steps[1].sql.binds.iter().skip(2).step_by(3).collect();
    assert_eq!(team_binds, [&Value::Int(41), &Value::Int(42), &Value::Int(43)], "each player's team key");
    assert_eq!(players[2].read(PLAYER_TEAM, |p| p.team.key()), 43);

    // Fewer keys than rows is a bug to report, not keys given to the wrong objects.
    let mut map = IdentityMap::new();
    for i in 0..2 {
        map.add_new(Team { id: 0, name: format!("u{i}"), players: Set::new() }).unwrap();
    }
    let e = run_plan(&mut map, false, |_| Outcome::GeneratedKeys(vec![7])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
}

/// A tree with generated keys: a child refers to a parent created in the same session.
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Folder {
    #[pk]
    id: i64,
    parent: Option<Single<Folder>>,
}

#[test]
fn a_row_waiting_for_a_key_of_its_own_batch_starts_the_next_batch() {
    let mut map = IdentityMap::new();
    let root = map.add_new(Folder { id: 0, parent: None }).unwrap();
    let other = map.add_new(Folder { id: 0, parent: None }).unwrap();
    for _ in 0..2 {
        map.add_new(Folder { id: 0, parent: Some(Single::from(&root)) }).unwrap();
    }
    let mut next = 100;
    let steps = run_plan(&mut map, true, |s| {
        let keys: Vec<i64> = (0..s.objects.len() as i64).map(|i| next + i).collect();
        next += 10;
        match s.expect {
            Expect::GeneratedKey => Outcome::GeneratedKey(keys[0]),
            _ => Outcome::GeneratedKeys(keys),
        }
    })
    .unwrap();
    let batches: Vec<Vec<usize>> = steps.iter().map(|s| s.objects.clone()).collect();
    assert_eq!(batches, [vec![0, 1], vec![2, 3]], "the children wait for the root's key");
    assert_eq!(steps[1].sql.binds, [Value::Int(100), Value::Int(100)], "both children refer to the root");
    assert_eq!((root.read(0, |f| f.id), other.read(0, |f| f.id)), (100, 101));
}

/// A self-reference: the next node of a chain.
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Node {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    next: Option<Single<Node>>,
}

const NODE_NEXT: usize = 1;

#[test]
fn new_objects_that_refer_to_each_other_are_refused() {
    let mut map = IdentityMap::new();
    let first = map.add_new(Node { id: 1, next: None }).unwrap();
    let second = map.add_new(Node { id: 2, next: Some(Single::from(&first)) }).unwrap();
    first.write(NODE_NEXT, |n| n.next = Some(Single::from(&second))).unwrap();
    let e = refused(&mut map);
    assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation);
    assert_eq!(
        e.message(),
        "a flush cannot order these changes: new objects refer to each other in a cycle (Node[1].next → \
         Node[2].next → Node[1]), so each insert needs another's row first; insert one without its reference, \
         flush, then set it"
    );
}

#[test]
fn deletes_of_rows_that_refer_to_each_other_are_not_refused() {
    let mut map = IdentityMap::new();
    let a = map.attach_loaded(Node { id: 3, next: Some(Single::new(4)) }).unwrap();
    let b = map.attach_loaded(Node { id: 4, next: Some(Single::new(3)) }).unwrap();
    a.delete().unwrap();
    b.delete().unwrap();
    let steps = run_plan(&mut map, true, one_row).unwrap();
    assert_eq!(steps.len(), 2, "the database deletes rows that refer to each other in any order");
}

// Issue 18: one object's flush, changes that cancel out, constraint errors that name the object.

/// Runs a plan of one object (`FlushPlan::for_object`), as the engine's runner does.
fn run_object_plan(map: &mut IdentityMap, object: usize) -> nextorm::Result<Vec<Step>> {
    let mut plan = FlushPlan::for_object(map, Dialect::Sqlite, object)?;
    let mut sent = Vec::new();
    while let Some(step) = plan.next_step(map)? {
        let outcome = match step.expect {
            Expect::GeneratedKey => Outcome::GeneratedKey(50 + sent.len() as i64),
            _ => Outcome::Rows(1),
        };
        plan.outcome(map, outcome)?;
        sent.push(step);
    }
    Ok(sent)
}

#[test]
fn an_object_flush_sends_the_object_and_the_new_objects_it_refers_to_only() {
    let mut map = IdentityMap::new();
    let other = map.add_new(Team { id: 0, name: "other".into(), players: Set::new() }).unwrap();
    let team = map.add_new(Team { id: 0, name: "new".into(), players: Set::new() }).unwrap();
    let player = map.add_new(Player { id: 7, number: 10, team: Single::from(&team) }).unwrap();
    let steps = run_object_plan(&mut map, 2).unwrap();
    assert_eq!(
        texts(&steps),
        [
            r#"INSERT INTO "team" ("name") VALUES (?)"#,
            r#"INSERT INTO "player" ("id", "number", "team") VALUES (?, ?, ?)"#
        ]
    );
    assert_eq!(steps[1].sql.binds, [Value::Int(7), Value::Int(10), Value::Int(50)]);
    assert_eq!((team.read(0, |t| t.id), other.read(0, |t| t.id)), (50, 0), "the other team waits");
    assert!(run_object_plan(&mut map, 2).unwrap().is_empty(), "nothing left for the player");
    let rest = run_plan(&mut map, false, |s| match s.expect {
        Expect::GeneratedKey => Outcome::GeneratedKey(60),
        _ => Outcome::Rows(1),
    })
    .unwrap();
    assert_eq!(texts(&rest), [r#"INSERT INTO "team" ("name") VALUES (?)"#], "the next flush sends the rest");
    drop(player);
}

#[test]
fn an_object_flush_of_a_delete_sends_the_cascade_first() {
    let mut map = IdentityMap::new();
    let team = map.attach_loaded(Team { id: 1, name: "old".into(), players: Set::new() }).unwrap();
    map.attach_loaded(Player { id: 7, number: 10, team: Single::new(1) }).unwrap();
    let bystander = map.attach_loaded(Team { id: 2, name: "b".into(), players: Set::new() }).unwrap();
    bystander.write(1, |t| t.name = "c".into()).unwrap();
    team.delete().unwrap();
    let steps = run_object_plan(&mut map, 0).unwrap();
    assert_eq!(texts(&steps), [r#"DELETE FROM "player" WHERE "id" = ?"#, r#"DELETE FROM "team" WHERE "id" = ?"#]);
    let rest = run_plan(&mut map, false, one_row).unwrap();
    assert_eq!(rest.len(), 1, "only the bystander's update is left");
    assert!(rest[0].sql.text.starts_with(r#"UPDATE "team""#), "{}", rest[0].sql.text);
}

#[test]
fn pair_changes_that_cancel_out_send_nothing() {
    let club_meta = <Club as nextorm::Entity>::meta();
    let (mut map, members, club, member) = club_and_member();
    // Added, then removed.
    map.change_pair(club_meta, members, club, member, true).unwrap();
    map.change_pair(club_meta, members, club, member, false).unwrap();
    assert!(run_plan(&mut map, false, one_row).unwrap().is_empty());
    // Read, removed, added back.
    map.load_pairs(club_meta, members, [(club, member)]).unwrap();
    map.change_pair(club_meta, members, club, member, false).unwrap();
    map.change_pair(club_meta, members, club, member, true).unwrap();
    assert!(run_plan(&mut map, false, one_row).unwrap().is_empty());
    // Removed once: one DELETE.
    map.change_pair(club_meta, members, club, member, false).unwrap();
    let steps = run_plan(&mut map, false, one_row).unwrap();
    assert_eq!(texts(&steps), [r#"DELETE FROM "club_member" WHERE "member_id" = ? AND "club_id" = ?"#]);
    // A loaded collection without the pair: removing it has nothing to delete.
    map.change_pair(club_meta, members, club, member, false).unwrap();
    assert!(run_plan(&mut map, false, one_row).unwrap().is_empty());
}

#[test]
fn a_constraint_error_of_a_step_names_its_objects() {
    let mut map = IdentityMap::new();
    let loaded = map.attach_loaded(Team { id: 3, name: "old".into(), players: Set::new() }).unwrap();
    loaded.write(1, |t| t.name = "x".into()).unwrap();
    for _ in 0..5 {
        map.add_new(Team { id: 0, name: "new".into(), players: Set::new() }).unwrap();
    }
    let mut plan = FlushPlan::new(&mut map, Dialect::Sqlite, false).unwrap();
    let step = plan.next_step(&mut map).unwrap().unwrap();
    assert!(step.sql.text.starts_with("UPDATE"), "{}", step.sql.text);
    let db = nextorm::Error::new(ErrorKind::UniqueViolation, "UNIQUE constraint failed: team.name").with_code("2067");
    let e = plan.name_failed_step(db);
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(e.code(), Some("2067"));
    assert_eq!(e.message(), "Team[3] cannot be stored: UNIQUE constraint failed: team.name");
    plan.outcome(&mut map, Outcome::Rows(1)).unwrap();
    let step = plan.next_step(&mut map).unwrap().unwrap();
    assert_eq!(step.objects.len(), 5, "{}", step.sql.text);
    let e = plan.name_failed_step(nextorm::Error::new(ErrorKind::NotNullViolation, "NOT NULL"));
    assert_eq!(e.message(), "Team[new], Team[new], Team[new] and 2 more cannot be stored: NOT NULL");
    let other = plan.name_failed_step(nextorm::Error::new(ErrorKind::ConnectionLost, "gone"));
    assert_eq!(other.message(), "gone", "only constraint errors are named");
}

/// A lazy column (`body`) and a volatile one (`revision`).
#[derive(nextorm::Entity, Debug, Clone, PartialEq, Default)]
struct Note {
    #[pk]
    id: i64,
    title: String,
    #[orm(lazy)]
    body: String,
    #[orm(volatile)]
    revision: i64,
}

/// A row of values, as a driver would hand it over.
struct Row(Vec<Value>);

impl nextorm_core::RowRead for Row {
    fn column_count(&self) -> usize {
        self.0.len()
    }
    fn column_name(&self, idx: usize) -> String {
        format!("c{idx}")
    }
    fn is_null(&self, idx: usize) -> nextorm::Result<bool> {
        Ok(self.0[idx].is_null())
    }
    fn get_bool(&self, _: usize) -> nextorm::Result<bool> {
        unimplemented!("not in these rows")
    }
    fn get_i64(&self, idx: usize) -> nextorm::Result<i64> {
        match &self.0[idx] {
            Value::Int(i) => Ok(*i),
            other => panic!("not an integer: {other:?}"),
        }
    }
    fn get_f64(&self, _: usize) -> nextorm::Result<f64> {
        unimplemented!("not in these rows")
    }
    fn get_string(&self, idx: usize) -> nextorm::Result<String> {
        match &self.0[idx] {
            Value::Text(t) => Ok(t.clone()),
            other => panic!("not text: {other:?}"),
        }
    }
    fn get_bytes(&self, _: usize) -> nextorm::Result<Vec<u8>> {
        unimplemented!("not in these rows")
    }
    fn get_decimal(&self, _: usize) -> nextorm::Result<nextorm::rust_decimal::Decimal> {
        unimplemented!("not in these rows")
    }
    fn get_date(&self, _: usize) -> nextorm::Result<nextorm::chrono::NaiveDate> {
        unimplemented!("not in these rows")
    }
    fn get_datetime(&self, _: usize) -> nextorm::Result<nextorm::chrono::NaiveDateTime> {
        unimplemented!("not in these rows")
    }
    fn get_timestamp(&self, _: usize) -> nextorm::Result<nextorm::chrono::DateTime<nextorm::chrono::Utc>> {
        unimplemented!("not in these rows")
    }
    fn get_uuid(&self, _: usize) -> nextorm::Result<nextorm::uuid::Uuid> {
        unimplemented!("not in these rows")
    }
    fn get_json(&self, _: usize) -> nextorm::Result<nextorm::serde_json::Value> {
        unimplemented!("not in these rows")
    }
}

const NOTE_TITLE: usize = 1;
const NOTE_BODY: usize = 2;
const NOTE_REVISION: usize = 3;

fn note(id: i64) -> Note {
    Note { id, title: "t".into(), body: String::new(), revision: 4 }
}

#[test]
fn a_lazy_column_starts_unloaded_and_stays_out_of_checks() {
    let mut map = IdentityMap::new();
    let n = map.attach_loaded(note(1)).unwrap();
    assert!(n.is_unloaded(NOTE_BODY), "a loaded row's lazy column is not loaded");
    assert_eq!(n.read_loaded(NOTE_BODY, |v| v.body.clone()).unwrap(), None, "no default is handed out");
    assert_eq!(n.read_loaded(NOTE_TITLE, |v| v.title.clone()).unwrap().as_deref(), Some("t"));
    assert_eq!(map.needing_column(Note::meta(), NOTE_BODY, None, 10), [0]);
    assert!(!n.to_dict(&[], &[]).unwrap().contains_key("body"), "to_dict leaves an unloaded lazy field out");
    // Written without being read, as the default the placeholder holds: still sent, unchecked.
    n.write(NOTE_BODY, |v| v.body = String::new()).unwrap();
    assert_eq!(n.read_loaded(NOTE_BODY, |v| v.body.clone()).unwrap().as_deref(), Some(""), "a written value reads");
    assert!(map.needing_column(Note::meta(), NOTE_BODY, None, 10).is_empty(), "a written column is not loaded over");
    let change = n.tracked().pending().unwrap().expect("an update");
    assert_eq!(
        sql(&change, Dialect::Sqlite),
        r#"UPDATE "note" SET "body" = ? WHERE "id" = ? AND "title" = ?  [Text(""), Int(1), Text("t")]"#
    );
    n.tracked().applied(&change, None).unwrap();
    assert!(!n.is_unloaded(NOTE_BODY), "after the update the session knows the value");
}

#[test]
fn a_loaded_lazy_column_joins_the_check_and_a_volatile_one_never_does() {
    let mut map = IdentityMap::new();
    let n = map.attach_loaded(note(2)).unwrap();
    let row = Row(vec![Value::Int(2), Value::Text("loaded".into())]);
    map.load_columns(Note::meta(), &[NOTE_BODY], &row).unwrap();
    assert_eq!(n.read_loaded(NOTE_BODY, |v| v.body.clone()).unwrap().as_deref(), Some("loaded"));
    n.read(NOTE_REVISION, |v| v.revision);
    n.write(NOTE_TITLE, |v| v.title = "u".into()).unwrap();
    let change = n.tracked().pending().unwrap().expect("an update");
    assert_eq!(
        sql(&change, Dialect::Sqlite),
        r#"UPDATE "note" SET "title" = ? WHERE "id" = ? AND "title" = ? AND "body" = ?  [Text("u"), Int(2), Text("t"), Text("loaded")]"#
    );
}

#[test]
fn a_flush_lists_the_written_objects_with_volatile_columns() {
    let mut map = IdentityMap::new();
    let written = map.attach_loaded(note(1)).unwrap();
    map.attach_loaded(note(2)).unwrap();
    map.attach_loaded(account(3)).unwrap().write(BALANCE, |v| v.balance = 1).unwrap();
    map.add_new(Note { id: 9, ..note(0) }).unwrap();
    written.write(NOTE_TITLE, |v| v.title = "w".into()).unwrap();
    let mut plan = FlushPlan::new(&mut map, Dialect::Sqlite, false).unwrap();
    while let Some(step) = plan.next_step(&mut map).unwrap() {
        let outcome = match step.expect {
            Expect::GeneratedKey => Outcome::GeneratedKey(9),
            _ => Outcome::Rows(1),
        };
        plan.outcome(&mut map, outcome).unwrap();
    }
    let volatile = plan.take_volatile(&map);
    assert_eq!(volatile.len(), 1, "one entity");
    assert!(std::ptr::eq(volatile[0].0, Note::meta()));
    assert_eq!(volatile[0].1, [0, 3], "the updated note and the inserted one, not the untouched one");
    let stmt = nextorm_core::crud::select_columns_of_keys(
        Note::meta(),
        &[NOTE_REVISION],
        vec![vec![Value::Int(1)], vec![Value::Int(9)]],
        Dialect::Postgres,
    );
    assert_eq!(&*stmt.text, r#"SELECT "id", "revision" FROM "note" WHERE "id" IN ($1, $2)"#);
    assert!(plan.take_volatile(&map).is_empty(), "taken out");
}

/// An entity whose `after_load` refuses the rows named "bad".
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
#[orm(hooks)]
struct Picky {
    #[pk]
    #[orm(auto = false)]
    id: i64,
    #[orm(max_len = 20)]
    name: String,
}

impl nextorm::Hooks for Picky {
    fn after_load(&mut self) -> nextorm::Result<()> {
        if self.name == "bad" {
            return Err(nextorm::Error::new(ErrorKind::CheckViolation, "a bad row"));
        }
        Ok(())
    }
}

#[test]
fn a_row_whose_after_load_fails_leaves_the_map_as_it_was() {
    let mut map = IdentityMap::new();
    let err = map.attach_loaded(Picky { id: 1, name: "bad".into() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CheckViolation);
    assert!(map.is_empty());
    assert!(map.get::<Picky>(&[Value::Int(1)]).is_none(), "the refused row's key is not entered");
    // The same key loads again as a new object, the only one.
    let good = map.attach_loaded(Picky { id: 1, name: "good".into() }).unwrap();
    assert_eq!(map.len(), 1);
    let found = map.get::<Picky>(&[Value::Int(1)]).expect("the loaded object");
    assert_eq!(found.addr(), good.addr());
    assert_eq!(found.read(1, |v| v.name.clone()), "good");
    // A row the map holds is that object, its hook not run again.
    let again = map.attach_loaded(Picky { id: 1, name: "bad".into() }).unwrap();
    assert_eq!(again.addr(), good.addr());
}

#[test]
fn the_identity_map_keeps_integer_and_other_keys_apart_per_entity() {
    let mut map = IdentityMap::new();
    let account = map.attach_loaded(account(7)).unwrap();
    let tag = map.attach_loaded(Tag { id: 7, label: "seven".into() }).unwrap();
    assert_eq!(map.get::<Account>(&[Value::Int(7)]).expect("the account").addr(), account.addr());
    assert_eq!(map.get::<Tag>(&[Value::Int(7)]).expect("the tag").addr(), tag.addr());
    assert!(map.get::<Tag>(&[Value::Int(8)]).is_none());
    // A key of another kind is another key.
    assert!(map.get::<Tag>(&[Value::Text("7".into())]).is_none());
    // A second row of the same key is the same object.
    assert_eq!(map.attach_loaded(Tag { id: 7, label: "other".into() }).unwrap().addr(), tag.addr());
    assert_eq!(map.len(), 2);
}

#[test]
fn an_ended_map_is_empty_and_ready_for_another_session() {
    let mut map = IdentityMap::new();
    let first = map.attach_loaded(account(1)).unwrap();
    map.attach_loaded(Tag { id: 2, label: "two".into() }).unwrap();
    map.end(false);
    assert!(map.is_empty() && map.reusable());
    assert!(map.get::<Account>(&[Value::Int(1)]).is_none(), "no key carries over");
    assert!(map.of_entity(Account::meta()).is_empty() && map.of_entity(Tag::meta()).is_empty());
    assert!(first.write(BALANCE, |v| v.balance = 0).is_err(), "the ended session's object is read-only");
    // The next session's rows are new objects.
    let second = map.attach_loaded(account(1)).unwrap();
    assert_ne!(second.addr(), first.addr());
    assert_eq!(map.of_entity(Account::meta()), [0]);
    assert_eq!(map.get::<Account>(&[Value::Int(1)]).expect("the new object").addr(), second.addr());
}

/// The key a reference column gives the members' index: what the column's value gives.
fn reference_key_is_its_value(object: &dyn nextorm_core::session::Tracked, column: usize) {
    let from_value = object
        .column_value(column)
        .ok()
        .filter(|v| !v.is_null() && !matches!(v, Value::Invalid(_)))
        .map(|v| nextorm_core::session::MapKey::of(&[v]));
    assert_eq!(object.live_map_key(column), from_value);
}

#[test]
fn a_reference_gives_the_key_its_value_gives() {
    let mut map = IdentityMap::new();
    // Loaded from a row: the key it holds; `None`: none.
    let loaded = map.attach_loaded(Node { id: 1, next: Some(Single::new(2)) }).unwrap();
    reference_key_is_its_value(loaded.tracked(), NODE_NEXT);
    assert_eq!(loaded.tracked().live_map_key(NODE_NEXT), Some(nextorm_core::session::MapKey::Int(2)));
    let last = map.attach_loaded(Node { id: 2, next: None }).unwrap();
    reference_key_is_its_value(last.tracked(), NODE_NEXT);
    assert_eq!(last.tracked().live_map_key(NODE_NEXT), None);
    // Following an object: its key as it is now, read from the object itself when it refers
    // to itself (without locking it again).
    loaded.write(NODE_NEXT, |n| n.next = Some(Single::from(&last))).unwrap();
    reference_key_is_its_value(loaded.tracked(), NODE_NEXT);
    // Made before the object is locked, as `Handle::set_reference` makes it.
    let to_itself = Single::from(&last);
    last.write(NODE_NEXT, |n| n.next = Some(to_itself)).unwrap();
    reference_key_is_its_value(last.tracked(), NODE_NEXT);
    assert_eq!(last.tracked().live_map_key(NODE_NEXT), Some(nextorm_core::session::MapKey::Int(2)));
    // Following a new object whose key is generated at the flush: none until it has one.
    let root = map.add_new(Folder { id: 0, parent: None }).unwrap();
    let child = map.add_new(Folder { id: 0, parent: Some(Single::from(&root)) }).unwrap();
    assert_eq!(child.tracked().live_map_key(1), None);
    root.write(0, |f| f.id = 42).unwrap();
    reference_key_is_its_value(child.tracked(), 1);
    assert_eq!(child.tracked().live_map_key(1), Some(nextorm_core::session::MapKey::Int(42)));
    // A deleted object reads as none.
    loaded.delete().unwrap();
    assert_eq!(loaded.tracked().live_map_key(NODE_NEXT), None);
}

#[test]
fn a_map_too_large_to_keep_is_not_reusable() {
    let mut map = IdentityMap::new();
    let held: Vec<_> =
        (0..IdentityMap::KEPT_ENTRIES as i64 / 2).map(|i| map.attach_loaded(account(i)).unwrap()).collect();
    map.end(false);
    assert!(map.is_empty());
    assert!(!map.reusable(), "its tables have room for more entries than a database keeps");
    drop(held);
}

/// An entity keyed by a timestamp.
#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Reading {
    #[pk]
    at: chrono::DateTime<chrono::Utc>,
    celsius: f64,
}

#[test]
fn a_timestamp_key_is_one_object_to_the_microsecond() {
    let mut map = IdentityMap::new();
    // Made in the session with nanoseconds; the database keeps microseconds.
    let made = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
    let stored = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap();
    let new = map.add_new(Reading { at: made, celsius: 21.5 }).unwrap();
    let loaded = map.attach_loaded(Reading { at: stored, celsius: 21.5 }).unwrap();
    assert_eq!(loaded.addr(), new.addr(), "the row read back is the object made");
    assert_eq!(map.len(), 1);
    let again = map.add_new(Reading { at: stored, celsius: 0.0 }).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::UniqueViolation, "the same row twice, to the microsecond");
}
