//! The pure session core: handles track reads and writes, the identity map keeps one object per
//! row, and a flush plan carries Pony's optimistic checks. No database is involved.

#![allow(missing_docs)]

use nextorm::{Dialect, ErrorKind, Value};
use nextorm_core::session::{Change, IdentityMap, change_sql, insert_batch_len, insert_batch_sql};

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
fn inserts_with_given_keys_are_batched_generated_keys_are_not() {
    let mut map = IdentityMap::new();
    let mut changes: Vec<Change> = Vec::new();
    for id in 1..=3 {
        let t = map.add_new(Tag { id, label: format!("t{id}") }).unwrap();
        changes.push(t.tracked().pending().unwrap().unwrap());
    }
    changes.push(map.add_new(account(0)).unwrap().tracked().pending().unwrap().unwrap());
    changes.push(map.add_new(Tag { id: 4, label: "t4".into() }).unwrap().tracked().pending().unwrap().unwrap());
    assert_eq!(insert_batch_len(&changes, Dialect::Sqlite), 3, "the three tags, up to the account");
    assert_eq!(insert_batch_len(&changes[3..], Dialect::Sqlite), 1, "a generated key goes alone");
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
                let mut links = Links::default();
                links.push_edge("next", Edge::Held(pair[1].erased()));
                pair[0].tracked().keep_links(links);
            }
            map.clear(false);
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
