//! The SQL nextorm renders, three dialects side by side: DDL and the statements of single-entity
//! CRUD. A change to any of it shows up as an explicit snapshot diff.

#![allow(missing_docs)]

use nextorm::Dialect;
use nextorm::sql::ast::{BinOp, Delete, Expr, Select, Statement};
use nextorm::{Entity, Value};
use nextorm_core::{crud, schema};

#[derive(nextorm::Entity)]
#[orm(unique(maker, sku), index(maker, price))]
struct Product {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    #[orm(max_len = 32)]
    maker: String,
    #[orm(column = "product_sku", unique, max_len = 32)]
    sku: String,
    price: f64,
    #[orm(precision = 12, scale = 2)]
    cost: rust_decimal::Decimal,
    summary: Option<String>,
    #[orm(index, sql_default = "0")]
    stock: i32,
    added: chrono::DateTime<chrono::Utc>,
    tags: serde_json::Value,
    ref_id: uuid::Uuid,
    status: Status,
}

#[derive(nextorm::DbEnum, Clone, Copy)]
enum Status {
    Draft,
    #[orm(rename = "live")]
    Published,
}

/// Reserved words and a composite key.
#[derive(nextorm::Entity)]
struct Order {
    #[pk]
    #[orm(max_len = 10)]
    r#group: String,
    #[pk]
    select: i32,
    from: Option<bool>,
    #[orm(column = "where")]
    condition: Vec<u8>,
}

/// Each query's text on every dialect, with PostgreSQL's binds, under a `## name` heading.
macro_rules! render_all {
    ($($name:literal => $q:expr;)*) => {{
        let mut out = String::new();
        $(
            out.push_str(concat!("## ", $name, "\n"));
            for d in nextorm::Dialect::ALL {
                let sql = $q.sql(d);
                out.push_str(&format!("{:<8} {}\n", d.name(), sql.text));
                if d == nextorm::Dialect::Postgres {
                    out.push_str(&format!("{:<8} {:?}\n", "binds", sql.binds));
                }
            }
            out.push('\n');
        )*
        out
    }};
}

fn side_by_side(render: impl Fn(Dialect) -> Vec<String>) -> String {
    Dialect::ALL.iter().map(|&d| format!("-- {}\n{}\n", d.name(), render(d).join(";\n"))).collect::<Vec<_>>().join("\n")
}

fn crud_statements(meta: &'static nextorm::EntityMeta, d: Dialect) -> Vec<String> {
    vec![
        crud::insert(meta, d, true).to_owned(),
        crud::insert(meta, d, false).to_owned(),
        crud::select_by_key(meta, d).to_owned(),
        crud::select_all(meta, d).to_owned(),
        crud::update_by_key(meta, d).to_owned(),
        crud::delete_by_key(meta, d).to_owned(),
    ]
}

#[test]
fn product_ddl() {
    insta::assert_snapshot!(side_by_side(|d| schema::create_statements(&[Product::meta()], d).unwrap()));
}

#[test]
fn product_crud() {
    insta::assert_snapshot!(side_by_side(|d| crud_statements(Product::meta(), d)));
}

/// `insert_many`'s statements: three rows with generated keys (returned with `RETURNING` on
/// every dialect), two with given keys, and how many rows one statement carries.
#[test]
fn product_insert_many() {
    insta::assert_snapshot!(side_by_side(|d| {
        vec![
            crud::insert_many(Product::meta(), d, true, 3),
            crud::insert_many(Product::meta(), d, false, 2),
            format!(
                "-- rows per statement: {} generated, {} given",
                crud::insert_batch_rows(Product::meta(), d, true),
                crud::insert_batch_rows(Product::meta(), d, false)
            ),
        ]
    }));
}

#[test]
fn reserved_words_and_composite_key_ddl() {
    insta::assert_snapshot!(side_by_side(|d| {
        let mut all = schema::create_statements(&[Order::meta()], d).unwrap();
        all.extend(schema::drop_statements(&[Order::meta()], d));
        all
    }));
}

#[test]
fn reserved_words_and_composite_key_crud() {
    insta::assert_snapshot!(side_by_side(|d| crud_statements(Order::meta(), d)));
}

#[test]
fn values_are_binds_never_text() {
    let stmt = Statement::Select(Select {
        columns: vec![Expr::CountStar],
        from: vec![nextorm::sql::ast::FromItem { table: "product".into(), alias: None, query: None, join: None }],
        filter: Some(Expr::Binary {
            op: BinOp::Or,
            lhs: Box::new(Expr::column("name").eq(Expr::Value(Value::Text("x'; DROP TABLE product; --".into())))),
            rhs: Box::new(Expr::IsNull { expr: Box::new(Expr::column("summary")), negated: false }),
        }),
        limit: Some(Expr::Value(Value::Int(1))),
        ..Select::default()
    });
    let stmt2 = Statement::Delete(Delete {
        alias: None,
        table: "product".into(),
        filter: Some(Expr::column("id").eq(Expr::Value(Value::Int(3)))),
    });
    insta::assert_snapshot!(side_by_side(|d| {
        [&stmt, &stmt2]
            .iter()
            .map(|s| {
                let sql = nextorm::sql::render(s, d);
                assert!(!sql.text.contains("DROP"), "a value reached the SQL text");
                format!("{}  -- binds: {:?}", sql.text, sql.binds)
            })
            .collect()
    }));
}

mod queries {
    //! One snapshot of every `select!` construct, three dialects side by side.

    use nextorm::query::{EntityQuery, count as count_all, desc, set, sum as sum_of};
    use nextorm::{Dialect, select};

    #[derive(nextorm::Entity)]
    struct Item {
        #[pk]
        id: i64,
        #[orm(max_len = 40)]
        name: String,
        price: f64,
        qty: i32,
        note: Option<String>,
        added: chrono::NaiveDate,
    }

    #[derive(nextorm::Entity)]
    struct Tag {
        #[pk]
        id: i64,
        item_id: i64,
        #[orm(max_len = 20)]
        label: String,
    }

    #[test]
    fn select_constructs() {
        let limit = 20.0;
        let ids = vec![1_i64, 2, 3];
        let long: Vec<i64> = (0..100).collect();
        let prefix = "50%_off!";
        let out = render_all! {
            "entity, comparison with a bound value" => select!(i for i in Item if i.price < limit);
            "attribute projection adds DISTINCT" => select!(i.name for i in Item);
            "without_distinct" => select!(i.name for i in Item).without_distinct();
            "tuple projection" => select!((i.name, i.price * 2) for i in Item if i.qty > 0);
            "two generators" => select!((i.name, t.label) for i in Item for t in Tag if t.item_id == i.id);
            "and, or, not, parentheses" => select!(i for i in Item if (i.qty == 1 || i.qty == 2) && !(i.price > 3.0 || i.note.is_none()));
            "arithmetic precedence, unary minus, integer division" => select!(i for i in Item if i.qty - 2 * i.qty > -i.qty / 2 % 3);
            "is_none, is_some" => select!(i for i in Item if i.note.is_none() || i.note.is_some());
            "between, case, coalesce" => select!((if i.price > 10.0 { "dear" } else { "cheap" }, coalesce(i.note, "")) for i in Item if between(i.qty, 1, 5));
            "in short list, in long list, not in" => select!(i for i in Item if i.id.is_in(&ids) || i.id.is_in(&long) || i.id.not_in([7, 8]));
            "in subquery" => select!(i for i in Item if i.id.is_in(t.item_id for t in Tag if t.label == "x"));
            "exists, correlated" => select!(i for i in Item if exists(t for t in Tag if t.item_id == i.id) && !exists(t for t in Tag if t.label == i.name));
            "starts_with, ends_with, contains (escaped)" => select!(i for i in Item if i.name.starts_with(prefix) || i.name.ends_with("_") || i.name.contains("%"));
            "needle from a column" => select!(i for i in Item if i.name.contains(i.note));
            "not contains on a nullable column keeps NULL" => select!(i for i in Item if !i.note.contains("x"));
            "case, length, trim, concatenation, slice" => select!((i.name.to_lowercase(), i.name.to_uppercase(), i.name.len(), i.name.trim(), i.name + "!", i.name[1..3]) for i in Item);
            "date parts" => select!((i.added.year(), i.added.month(), i.added.day()) for i in Item);
            "aggregates with implicit GROUP BY and HAVING" => select!((i.qty, count(), count(i.name), sum(i.price), avg(i.price), min(i.name), max(i.added)) for i in Item if sum(i.price) > 10.0 && i.qty > 0);
            "group_concat" => select!((i.qty, group_concat(i.name, ", ")) for i in Item);
            "scalar subquery aggregate" => select!(i for i in Item if i.price > avg(j.price for j in Item) && count(t for t in Tag if t.item_id == i.id) > 1);
            "raw SQL fragment" => select!(i for i in Item if raw_sql::<bool>("ABS({}) > {}", i.price, limit));
            "order, limit, offset" => select!(i for i in Item).order_by(|i| (desc(i.price), i.note, i.id)).limit(10).offset(20);
            "page" => select!(i for i in Item).order_by(|i| i.name).page(3, 25);
            "offset alone" => select!(i for i in Item).offset(5);
            "order by aggregate" => select!((i.qty, count()) for i in Item).order_by(|_| desc(count_all()));
            "for update, nowait, skip locked" => select!(i for i in Item if i.qty > 0).for_update_skip_locked();
            "random" => select!(i for i in Item).random(3);
            "closure form" => Item::query().filter(|i| i.price.lt(20)).order_by(|i| desc(i.price));
        };
        insta::assert_snapshot!(out);
    }

    #[derive(nextorm::Entity)]
    struct Line {
        #[pk]
        id: i64,
        #[orm(precision = 12, scale = 2)]
        price: rust_decimal::Decimal,
        qty: i32,
    }

    #[test]
    fn decimals_compute_exactly_on_every_dialect() {
        let limit = rust_decimal::Decimal::new(1999, 2);
        let listed = [rust_decimal::Decimal::ONE, limit];
        let out = render_all! {
            "comparisons" => select!(l for l in Line if l.price < limit && l.price >= 10 && l.price != l.price * 2);
            "between, in" => select!(l for l in Line if between(l.price, 1, limit) || l.price.is_in(listed));
            "arithmetic" => select!((l.price + 1, l.price - l.price / 4, l.price * l.qty, -l.price, l.price.abs()) for l in Line);
            "aggregates" => select!((sum(l.price * l.qty), avg(l.price), min(l.price), max(l.price)) for l in Line);
            "order" => select!(l for l in Line).order_by(|l| (desc(l.price), l.id));
            "order by an aggregate" => select!((l.qty, sum(l.price)) for l in Line).order_by(|l| desc(sum_of(l.price)));
        };
        insta::assert_snapshot!(out);
    }

    #[test]
    fn terminals_and_bulk_statements() {
        // The SQL of terminals, rendered through a recording executor.
        let mut out = String::new();
        for d in Dialect::ALL {
            let rec = Recorder(d, std::cell::RefCell::new(Vec::new()));
            let q = select!(i for i in Item if i.qty > 1);
            q.count(&rec);
            q.exists(&rec);
            q.first(&rec);
            select!(i.name for i in Item).count(&rec);
            select!(i.price for i in Item).sum(&rec);
            select!(i.price for i in Item).avg(&rec);
            select!(l.price for l in Line).sum(&rec);
            select!(l.price for l in Line).max(&rec);
            q.delete(&rec);
            q.update(&rec, |i| (set(&i.qty, 0), set(&i.note, None::<String>)));
            out.push_str(&format!("-- {}\n{}\n\n", d.name(), rec.1.borrow().join("\n")));
        }
        insta::assert_snapshot!(out);
    }

    /// An executor that records the SQL it is given.
    struct Recorder(Dialect, std::cell::RefCell<Vec<String>>);

    impl nextorm::query::Executor for &Recorder {
        type Out<T: Send + 'static> = ();
        type Obj<Row: nextorm::Attach> = Row;
        fn dialect(self) -> Dialect {
            self.0
        }
        fn fetch<Row: Send + 'static, T: Send + 'static>(
            self,
            stmt: nextorm::query::Stmt,
            _: fn(&dyn nextorm::__private::RowRead, usize) -> nextorm::Result<Row>,
            _: fn(Vec<Row>) -> nextorm::Result<T>,
        ) {
            self.1.borrow_mut().push(format!("{}  {:?}", stmt.text, stmt.binds));
        }
        fn fetch_objects<Row: nextorm::Attach, T: Send + 'static>(
            self,
            stmt: nextorm::query::Stmt,
            _: fn(&dyn nextorm::__private::RowRead, usize) -> nextorm::Result<Row>,
            _: fn(Vec<Row>) -> nextorm::Result<T>,
        ) {
            self.1.borrow_mut().push(format!("{}  {:?}", stmt.text, stmt.binds));
        }
        fn object_by_pk<E: nextorm::SessionEntity>(self, key: &E::Key) {
            nextorm::query::load_by_pk::<_, E>(self, key)
        }
        fn create_object<E: nextorm::SessionEntity>(self, value: E) {
            self.1.borrow_mut().push(format!("create {}", E::meta().name));
            let _ = value;
        }
        fn execute(self, stmt: nextorm::query::Stmt) {
            self.1.borrow_mut().push(format!("{}  {:?}", stmt.text, stmt.binds));
        }
        fn fail<T: Send + 'static>(self, error: nextorm::Error) {
            self.1.borrow_mut().push(format!("error: {error}"));
        }
        fn ready<T: Send + 'static>(self, _: T) {}
        fn map<A: Send + 'static, B: Send + 'static>(self, _: (), _: fn(A) -> nextorm::Result<B>) {}
        type Each<'f>
            = ()
        where
            Self: 'f;
        fn for_each<'f, Row: nextorm::Attach, F: FnMut(Row) -> nextorm::Result<()> + Send + 'f>(
            self,
            stmt: nextorm::query::Stmt,
            _: fn(&dyn nextorm::__private::RowRead, usize) -> nextorm::Result<Row>,
            _: F,
        ) where
            Self: 'f,
        {
            self.1.borrow_mut().push(format!("{}  {:?}", stmt.text, stmt.binds));
        }
        fn fail_each<'f>(self, error: nextorm::Error)
        where
            Self: 'f,
        {
            self.1.borrow_mut().push(format!("error: {error}"));
        }
        fn fetch_prefetched<Row: nextorm::Attach, T: Send + 'static>(
            self,
            _: nextorm::query::Stmt,
            _: fn(&dyn nextorm::__private::RowRead, usize) -> nextorm::Result<Row>,
            paths: Vec<nextorm_core::relation::PrefetchPath>,
            _: fn(Vec<Row>) -> nextorm::Result<T>,
        ) {
            self.fail::<T>(nextorm::query::prefetch_needs_a_session(&paths))
        }
        fn change_collection<O: nextorm::Entity, T: nextorm::Entity>(
            self,
            _: nextorm::Handle<O>,
            relation: &'static nextorm::RelationMeta,
            _: nextorm_core::relation::CollectionChange<T>,
        ) {
            self.fail::<()>(nextorm::query::collection_change_needs_a_session(relation))
        }
        fn flush_object<E: nextorm::Entity>(self, _: nextorm::Handle<E>) {
            self.fail::<()>(nextorm::query::object_flush_needs_a_session(E::meta()))
        }
    }
}

mod relations {
    //! One snapshot of every navigation, collection, quantifier and aggregate form, three
    //! dialects side by side, and the DDL of a many-to-many join table and one-to-one keys.

    use nextorm::{Entity, HasOne, Set, Single, select};

    #[derive(nextorm::Entity)]
    struct Country {
        #[pk]
        id: i64,
        #[orm(max_len = 40)]
        name: String,
        members: Set<Member>,
    }

    #[derive(nextorm::Entity)]
    struct Member {
        #[pk]
        id: i64,
        #[orm(max_len = 40)]
        name: String,
        country: Option<Single<Country>>,
        posts: Set<Post>,
        profile: HasOne<Profile>,
        badge: HasOne<Badge>,
    }

    /// One-to-one, required: the unique key is `profile.member`.
    #[derive(nextorm::Entity)]
    struct Profile {
        #[pk]
        id: i64,
        #[orm(max_len = 200)]
        bio: String,
        member: Single<Member>,
    }

    /// One-to-one, optional: `badge.holder` is unique and nullable.
    #[derive(nextorm::Entity)]
    struct Badge {
        #[pk]
        id: i64,
        #[orm(max_len = 20)]
        code: String,
        holder: Option<Single<Member>>,
    }

    #[derive(nextorm::Entity)]
    struct Post {
        #[pk]
        id: i64,
        #[orm(max_len = 80)]
        title: String,
        score: i32,
        author: Single<Member>,
        comments: Set<Comment>,
        labels: Set<Label>,
    }

    #[derive(nextorm::Entity)]
    struct Comment {
        #[pk]
        id: i64,
        #[orm(max_len = 200)]
        body: String,
        post: Single<Post>,
    }

    /// A text key on the other side of a many-to-many relation.
    #[derive(nextorm::Entity)]
    struct Label {
        #[pk]
        #[orm(max_len = 20)]
        name: String,
        posts: Set<Post>,
    }

    /// An optional reference that cascades (`cascade_delete = true`): `ON DELETE CASCADE`.
    #[derive(nextorm::Entity)]
    struct Draft {
        #[pk]
        id: i64,
        #[orm(cascade_delete = true)]
        author: Option<Single<Member>>,
    }

    #[test]
    fn navigation_collections_quantifiers_aggregates() {
        let rust = Single::<Label>::new("rust".to_owned());
        let out = render_all! {
            "navigation, required hop: JOIN" => select!(c for c in Comment if c.post.title == "x");
            "navigation, two hops, optional hop: LEFT JOIN" => select!(c.body for c in Comment if c.post.author.country.name == "NZ");
            "the referenced key needs no join" => select!(p for p in Post if p.author.id == 7);
            "object comparison with a loop variable" => select!((p.title, m.name) for p in Post for m in Member if p.author == m);
            "optional reference is_none" => select!(m for m in Member if m.country.is_none());
            "projection of a reference" => select!(p.author for p in Post if p.score > 3);
            "for over a one-to-many collection" => select!((m.name, p.title) for m in Member for p in m.posts);
            "for over a many-to-many collection" => select!((p.title, l.name) for p in Post for l in p.labels);
            "count of a collection, 0 for none" => select!((m.name, count(m.posts)) for m in Member);
            "len of a many-to-many collection" => select!(l for l in Label if l.posts.len() > 2);
            "count two hops through collections" => select!((c.name, count(c.members.posts)) for c in Country);
            "sum over a nested generator, 0 for none" => select!(m for m in Member if sum(p.score for p in m.posts) < 10);
            "sum and avg of lifted attributes" => select!((m.name, sum(m.posts.score), avg(m.posts.score)) for m in Member);
            "exists over a collection" => select!(m for m in Member if exists(p for p in m.posts if p.score > 5));
            "not exists" => select!(m for m in Member if !exists(p for p in m.posts if p.score > 5));
            "is_empty" => select!(p for p in Post if p.comments.is_empty() && !p.labels.is_empty());
            "membership of a lifted attribute" => select!(p for p in Post if "rust".is_in(p.labels.name));
            "membership of a lifted attribute two hops away" => select!(l for l in Label if 3.is_in(l.posts.author.id));
            "contains a bound object" => select!(p for p in Post if p.labels.contains(rust.clone()));
            "contains a loop variable" => select!((p.title, l.name) for p in Post for l in Label if p.labels.contains(l));
            "a lifted attribute compared outside an aggregate joins" => select!(m for m in Member if m.posts.score > 9);
            "one-to-one from the HasOne side: LEFT JOIN on the other side's key" => select!(m.name for m in Member if m.profile.bio == "x");
            "one-to-one HasOne is_none: no row refers to the owner" => select!(m for m in Member if m.badge.is_none());
            "one-to-one HasOne compared with a loop variable" => select!((m.name, b.code) for m in Member for b in Badge if m.badge == b);
            "one-to-one from the Single side, then back" => select!(p for p in Profile if p.member.badge.code == "gold");
            "one-to-one projection of the HasOne side" => select!((m.name, m.profile.bio) for m in Member);
        };
        insta::assert_snapshot!(out);
    }

    #[test]
    fn many_to_many_ddl() {
        let metas = [
            Country::meta(),
            Member::meta(),
            Post::meta(),
            Comment::meta(),
            Label::meta(),
            Profile::meta(),
            Badge::meta(),
            Draft::meta(),
        ];
        insta::assert_snapshot!(super::side_by_side(|d| nextorm_core::schema::create_statements(&metas, d).unwrap()));
    }
}

mod aliases_membership_exists {
    //! Aliases of generators added by later conditions, membership tests that ignore NULL
    //! members, and `exists` over a generator projecting a test.

    use nextorm::{Set, Single, cond, select};

    #[derive(nextorm::Entity)]
    struct Team {
        #[pk]
        id: i64,
        #[orm(max_len = 40)]
        name: String,
        players: Set<Player>,
    }

    #[derive(nextorm::Entity)]
    struct Player {
        #[pk]
        id: i64,
        #[orm(max_len = 40)]
        name: String,
        bonus: Option<i32>,
        active: bool,
        team: Single<Team>,
    }

    #[test]
    fn aliases_null_membership_and_exists_tests() {
        let bonuses = vec![Some(7), None];
        let out = render_all! {
            "a later condition's generator gets a free alias" => select!(p for p in Player).filter(cond!(|q| exists(p for p in Player if q.name < p.name)));
            "two later conditions, one inner name" => select!(t for t in Team)
                .filter(cond!(|t| exists(p for p in t.players if p.active)))
                .filter(cond!(|t| !exists(p for p in Player if p.team == t && p.bonus > 5)));
            "a nested generator shadowing the loop variable" => select!(p for p in Player if exists(p for p in Player if p.bonus > 5));
            "not in a lifted nullable attribute" => select!(t for t in Team if 7.not_in(t.players.bonus));
            "not in a subquery of nullable values" => select!(t for t in Team if 7.not_in(p.bonus for p in Player if p.team == t));
            "not in a bound list holding None" => select!(p for p in Player if p.bonus.not_in(&bonuses));
            "exists over a projected test" => select!(t for t in Team if exists(p.active for p in t.players) && !exists(p.bonus > 5 for p in t.players));
        };
        insta::assert_snapshot!(out);
    }
}
