//! The entities the conformance suite maps.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use nextorm::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Product {
    #[pk]
    pub id: i64,
    #[orm(max_len = 64)]
    pub name: String,
    pub price: f64,
    #[orm(column = "product_sku", unique, max_len = 32)]
    pub sku: String,
    pub summary: Option<String>,
    #[orm(default = 5)]
    pub stock: i32,
}

impl Product {
    pub fn new(name: &str, sku: &str) -> Product {
        Product { name: name.into(), sku: sku.into(), price: 9.5, ..Default::default() }
    }
}

/// A lazy column (`body`, loaded on first read) and a volatile one (`revision`, changed by the
/// database: read again after a flush, never checked).
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Article {
    #[pk]
    pub id: i64,
    pub title: String,
    #[orm(lazy)]
    pub body: String,
    #[orm(volatile)]
    pub revision: i64,
    pub comments: Set<Remark>,
}

/// A lazy column on the member side of a relation.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Remark {
    #[pk]
    pub id: i64,
    pub article: Single<Article>,
    #[orm(lazy)]
    pub text: Option<String>,
}

/// An explicit text key.
/// Column rules: `min`/`max` on numbers, a raw `check`, an `sql_type`; and a table check over
/// two columns.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(check = "percent < 100 OR label <> 'full'")]
pub struct Gauge {
    #[pk]
    pub id: i64,
    #[orm(min = 0, max = 100)]
    pub percent: i32,
    #[orm(min = -40.5)]
    pub celsius: Option<f64>,
    #[orm(max = 9999.99, precision = 8, scale = 2)]
    pub price: Decimal,
    #[orm(check = "label <> 'forbidden'", sql_type = "VARCHAR(12)")]
    pub label: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Country {
    #[pk]
    #[orm(max_len = 2)]
    pub code: String,
    #[orm(max_len = 64)]
    pub name: String,
}

/// A composite key, as in the university oracle.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Course {
    #[pk]
    #[orm(max_len = 100)]
    pub name: String,
    #[pk]
    pub semester: i32,
    pub credits: i32,
}

/// Reserved words everywhere: table `order`, columns `group`, `select`, `from`, `where`.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(index(select, from))]
pub struct Order {
    #[pk]
    pub id: i64,
    #[orm(max_len = 20)]
    pub r#group: String,
    #[orm(index)]
    pub select: i32,
    pub from: Option<i64>,
    #[orm(column = "where")]
    pub condition: bool,
}

#[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Active,
    #[orm(rename = "on_hold")]
    OnHold,
    Closed,
}

#[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
#[orm(int)]
pub enum Priority {
    Low = 1,
    High = 5,
}

/// One field of every supported type.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct AllTypes {
    #[pk]
    pub id: i64,
    pub flag: bool,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub unsigned: u64,
    pub real: f32,
    pub double: f64,
    pub text: String,
    pub bytes: Vec<u8>,
    pub dec: Decimal,
    pub day: NaiveDate,
    pub moment: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub uuid: Uuid,
    pub json: serde_json::Value,
    pub status: Status,
    pub priority: Priority,
    pub maybe_text: Option<String>,
    pub maybe_int: Option<i64>,
    pub maybe_dec: Option<Decimal>,
    pub maybe_day: Option<NaiveDate>,
    pub maybe_instant: Option<DateTime<Utc>>,
    pub maybe_uuid: Option<Uuid>,
    pub maybe_json: Option<serde_json::Value>,
    pub maybe_bytes: Option<Vec<u8>>,
}

/// A composite unique key, a composite index, an SQL default and a bounded decimal.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(unique(maker, code), index(maker, rank))]
pub struct Part {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub maker: String,
    #[orm(max_len = 40)]
    pub code: String,
    pub rank: i32,
    #[orm(sql_default = "7")]
    pub hits: i64,
    #[orm(precision = 7, scale = 2)]
    pub cost: Decimal,
}

/// Values whose SQLite storage (text) does not sort as they do: exact decimals, dates, times and
/// UUIDs, compared, ordered and computed with as PostgreSQL does.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Ledger {
    #[pk]
    pub id: i64,
    #[orm(precision = 28, scale = 8)]
    pub amount: Decimal,
    pub qty: i32,
    pub day: NaiveDate,
    pub moment: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub uuid: Uuid,
}

/// Not mapped by the suite: version 2 of an entity whose table version 1 made without `nickname`.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "member_v1")]
pub struct MemberV2 {
    #[pk]
    pub id: i64,
    pub name: String,
    pub nickname: Option<String>,
}

/// Not mapped by the suite: its table is created by hand with a nullable column.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "loose_rows")]
pub struct Loose {
    #[pk]
    pub id: i64,
    pub note: String,
}

/// Not mapped by the suite: its table name is 64 bytes long.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "a_table_name_that_is_exactly_sixty_four_bytes_long_xxxxxxxxxxxxx")]
pub struct LongName {
    #[pk]
    pub id: i64,
}

/// Not mapped by the suite: the schema check's table, altered by hand after it is made.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "chk_item", unique(maker, code))]
pub struct ChkItem {
    #[pk]
    pub id: i64,
    #[orm(max_len = 100)]
    pub title: String,
    pub rating: i32,
    #[orm(max_len = 200)]
    pub note: String,
    #[orm(index)]
    pub score: i32,
    #[orm(max_len = 20)]
    pub maker: String,
    #[orm(max_len = 20)]
    pub code: String,
}

/// Not mapped by the suite: the schema check's table that goes missing.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "chk_gone")]
pub struct ChkGone {
    #[pk]
    pub id: i64,
}

/// An entity with lifecycle hooks.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(hooks)]
pub struct Post {
    #[pk]
    pub id: i64,
    #[orm(max_len = 80)]
    pub title: String,
    #[orm(max_len = 80)]
    pub slug: String,
    pub revisions: i32,
    pub loads: i32,
}

impl nextorm::Hooks for Post {
    fn before_insert(&mut self) -> nextorm::Result<()> {
        self.slug = self.title.to_lowercase().replace(' ', "-");
        Ok(())
    }
    fn before_update(&mut self) -> nextorm::Result<()> {
        self.revisions += 1;
        if self.title == "Query in hook" {
            // A hook cannot use its session: the blocking facade's, else the async one's.
            let query = || nextorm::select!(p.id for p in Post);
            match query().fetch_all(nextorm::current()) {
                Err(e) if e.message().starts_with("no session is running") => {
                    futures_executor::block_on(query().fetch_all(nextorm::current_async()))?;
                }
                r => {
                    r?;
                }
            }
        }
        Ok(())
    }
    fn before_delete(&self) -> nextorm::Result<()> {
        if self.title == "Locked" {
            return Err(nextorm::Error::new(nextorm::ErrorKind::CheckViolation, "locked posts cannot be deleted"));
        }
        Ok(())
    }
    fn after_load(&mut self) -> nextorm::Result<()> {
        self.loads += 1;
        Ok(())
    }
    fn after_update(&self) -> nextorm::Result<()> {
        if self.title == "Refused after" {
            return Err(nextorm::Error::new(nextorm::ErrorKind::CheckViolation, "after_update refused"));
        }
        Ok(())
    }
}

/// The entities every scratch database gets.
pub fn mapped() -> Vec<&'static nextorm::EntityMeta> {
    vec![
        Article::meta(),
        Remark::meta(),
        Gauge::meta(),
        Product::meta(),
        Country::meta(),
        Course::meta(),
        Order::meta(),
        AllTypes::meta(),
        Part::meta(),
        Post::meta(),
        Client::meta(),
        Purchase::meta(),
        Shelf::meta(),
        Book::meta(),
        Venue::meta(),
        Visit::meta(),
        Tag::meta(),
        Employee::meta(),
        Person::meta(),
        Account::meta(),
        Profile::meta(),
        Locker::meta(),
        Ledger::meta(),
        Folder::meta(),
        Memo::meta(),
        Queue::meta(),
        Ticket::meta(),
    ]
}

/// The one side of two relations: `orders` pairs with `Purchase.client`; `Purchase.referrer` has
/// no other side.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Client {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    #[orm(reverse = "client")]
    pub orders: Set<Purchase>,
    #[orm(reverse = "referrer")]
    pub referred: Set<Purchase>,
}

/// The foreign-key side: a required reference (cascade) and an optional one (set null).
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Purchase {
    #[pk]
    pub id: i64,
    pub total: i64,
    pub client: Single<Client>,
    pub referrer: Option<Single<Client>>,
    pub tags: Set<Tag>,
}

/// The other side of a many-to-many relation: the join table is `purchase_tag`.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Tag {
    #[pk]
    pub id: i64,
    #[orm(max_len = 20)]
    pub label: String,
    pub purchases: Set<Purchase>,
}

/// A self-reference: each employee's manager, and the reports of each.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Employee {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    pub manager: Option<Single<Employee>>,
    pub reports: Set<Employee>,
}

/// A symmetric many-to-many relation of an entity with itself (join table `person_friends`).
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Person {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    #[orm(reverse = "friends")]
    pub friends: Set<Person>,
}

/// A reference whose delete is restricted.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Shelf {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub label: String,
    pub books: Set<Book>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Book {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub title: String,
    #[orm(cascade_delete = false)]
    pub shelf: Single<Shelf>,
}

/// The one side of [`Visit`].
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Venue {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    pub visits: Set<Visit>,
}

/// Rust-side defaults beside a required reference: `Default` leaves the reference unset.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Visit {
    #[pk]
    pub id: i64,
    pub venue: Single<Venue>,
    #[orm(default = 1)]
    pub guests: i32,
    #[orm(max_len = 20, default = "walk-in")]
    pub kind: String,
}

/// The other side of two one-to-one relations: `Profile.account` (required) and
/// `Locker.holder` (optional).
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Account {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    pub profile: HasOne<Profile>,
    pub locker: HasOne<Locker>,
}

/// One-to-one, required: `profile.account` is unique, and deleting the account deletes it.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Profile {
    #[pk]
    pub id: i64,
    #[orm(max_len = 80)]
    pub bio: String,
    pub account: Single<Account>,
}

/// One-to-one, optional: `locker.holder` is unique, and deleting the holder clears it.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Locker {
    #[pk]
    pub id: i64,
    pub number: i32,
    pub holder: Option<Single<Account>>,
}

/// The other side of an optional reference that cascades.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Folder {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub label: String,
    pub memos: Set<Memo>,
}

/// An optional reference with `cascade_delete = true`: a memo may have no folder, and deleting
/// its folder deletes it (Pony's `cascade_delete=True` on an optional relation).
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Memo {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub title: String,
    #[orm(cascade_delete = true)]
    pub folder: Option<Single<Folder>>,
}

/// The owner of tickets, which a hook moves between queues.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
pub struct Queue {
    #[pk]
    pub id: i64,
    #[orm(max_len = 40)]
    pub name: String,
    pub tickets: Set<Ticket>,
}

/// A ticket whose `before_update` hook moves it to the queue `escalation` names once its
/// priority reaches 9 (a reference changed by a hook during a flush, not by a setter), and
/// counts its runs in `updates`.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(hooks)]
pub struct Ticket {
    #[pk]
    pub id: i64,
    pub priority: i32,
    pub escalation: i64,
    pub updates: i32,
    pub queue: Single<Queue>,
}

impl nextorm::Hooks for Ticket {
    fn before_update(&mut self) -> nextorm::Result<()> {
        self.updates += 1;
        if self.priority >= 9 {
            self.queue = Single::new(self.escalation);
        }
        Ok(())
    }
}

/// One of two models that map the same table names (`team`, `player`) with different keys and
/// columns, as two databases of one program would; never mapped together.
pub mod tenant_a {
    use nextorm::prelude::*;

    #[derive(Entity, Debug, Clone, PartialEq)]
    #[orm(table = "team")]
    pub struct Team {
        #[pk]
        pub id: i64,
        #[orm(max_len = 20)]
        pub name: String,
        pub players: Set<Player>,
    }

    #[derive(Entity, Debug, Clone, PartialEq)]
    #[orm(table = "player")]
    pub struct Player {
        #[pk]
        pub id: i64,
        pub team: Single<Team>,
    }
}

/// The other model on the tables `team` and `player`: other key and column names.
pub mod tenant_b {
    use nextorm::prelude::*;

    #[derive(Entity, Debug, Clone, PartialEq)]
    #[orm(table = "team")]
    pub struct Team {
        #[pk]
        pub code: i32,
        pub players: Set<Player>,
    }

    #[derive(Entity, Debug, Clone, PartialEq)]
    #[orm(table = "player")]
    pub struct Player {
        #[pk]
        pub number: i64,
        #[orm(column = "squad")]
        pub team: Single<Team>,
    }
}
