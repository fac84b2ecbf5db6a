//! The quick start, on embedded SQLite: declare entities, create their tables, and insert, read,
//! update and delete them, alone, inside a transaction and inside a session; follow relations and
//! turn objects into JSON. Run it with `cargo run --example quickstart`.

use nextorm::prelude::*;
use nextorm::query::set;

#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
enum Status {
    #[default]
    Draft,
    Live,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(unique(maker, name))]
struct Product {
    #[pk]
    id: i64, // auto-increment: 0 means "let the database choose"
    #[orm(max_len = 64)]
    name: String,
    #[orm(max_len = 32, index)]
    maker: String,
    price: f64,
    summary: Option<String>,
    #[orm(default = 10)]
    stock: i32,
    status: Status,
}

/// A composite primary key.
#[derive(Entity, Debug, Clone, PartialEq)]
struct Course {
    #[pk]
    #[orm(max_len = 100)]
    name: String,
    #[pk]
    semester: i32,
    credits: i32,
}

/// A customer and their orders (one-to-many).
#[derive(Entity, Debug, Clone, PartialEq, Default)]
struct Customer {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    orders: Set<Order>,
}

/// An order refers to its customer; the table check spans two columns.
#[derive(Entity, Debug, Clone, PartialEq, Default)]
#[orm(check = "discount <= total")]
struct Order {
    #[pk]
    id: i64,
    total: Decimal,
    discount: Decimal,
    customer: Single<Customer>,
}

fn main() -> nextorm::Result<()> {
    let db = Database::open("sqlite::memory:")?;
    db.generate_mapping(CreateTables::Yes)?; // every #[derive(Entity)] in the program
    for statement in db.ddl()? {
        println!("{statement};");
    }

    // Insert: the generated key is stored back into the object.
    let mut widget = Product { name: "Widget".into(), maker: "Acme".into(), price: 9.99, ..Default::default() };
    db.insert(&mut widget)?;
    println!("\ninserted {} with id {} (stock defaulted to {})", widget.name, widget.id, widget.stock);

    // Several inserts in one transaction: all or nothing.
    db.transaction(|tx| {
        for (name, price) in [("Gadget", 24.5), ("Gizmo", 3.25), ("Doohickey", 12.0)] {
            let mut p = Product { name: name.into(), maker: "Acme".into(), price, ..Default::default() };
            tx.insert(&mut p)?;
        }
        Ok(())
    })?;

    // Read by primary key: `by_pk` is Pony's `Product[id]`, `find` returns an Option.
    let mut loaded = db.by_pk::<Product>(&widget.id)?;
    assert_eq!(loaded, widget);
    assert!(db.find::<Product>(&999)?.is_none());

    // Update and delete.
    loaded.price = 8.49;
    loaded.status = Status::Live;
    loaded.summary = Some("now on sale".into());
    db.update(&loaded)?;
    println!("updated: {:?}", db.by_pk::<Product>(&widget.id)?);

    // Queries in PonyORM's generator language, checked by rustc; Rust values are always bound.
    let limit = 10.0;
    let cheap: Vec<String> = select!(p.name for p in Product if p.price < limit).fetch_all(&db)?;
    println!("cheap: {cheap:?}");
    let per_maker: Vec<(String, i64, f64)> =
        select!((p.maker, count(), sum(p.price)) for p in Product if p.stock > 0).fetch_all(&db)?;
    println!("per maker: {per_maker:?}");
    let g = select!(p for p in Product if p.name.starts_with("G")).order_by(|p| desc(p.price)).first(&db)?;
    println!("dearest G: {g:?}");
    let gadget = Product::get(&db, cond!(|p| p.name == "Gadget"))?; // PonyORM's Product.get(name="Gadget")
    println!("Product::get: {:?}", gadget.map(|p| p.id));
    db.transaction(|tx| {
        let restocked = select!(p for p in Product if p.price < 5.0).update(tx, |p| set(&p.stock, 100))?;
        println!("restocked {restocked} product(s)");
        Ok(())
    })?;

    // Raw SQL: `?` placeholders on every dialect, values always bound.
    let cheap: Vec<(String, f64)> =
        db.select("SELECT name, price FROM product WHERE price < ? ORDER BY price", (10.0,))?;
    println!("under 10: {cheap:?}");
    let count: i64 = db.get("SELECT COUNT(*) FROM product", ())?;
    println!("{count} products");

    // Composite keys.
    let mut calculus = Course { name: "Calculus".into(), semester: 1, credits: 5 };
    db.insert(&mut calculus)?;
    println!("{:?}", db.by_pk::<Course>(&("Calculus".into(), 1))?);

    // Errors have kinds you can match on.
    let mut clash = Product { name: "Widget".into(), maker: "Acme".into(), price: 1.0, ..Default::default() };
    match db.insert(&mut clash) {
        Err(e) if e.kind() == ErrorKind::UniqueViolation => println!("refused as expected: {e}"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    let mut too_long = Product { name: "x".repeat(65), ..clash };
    let e = db.insert(&mut too_long).unwrap_err();
    println!("refused as expected: {e}");

    // A session, PonyORM's `db_session`: one object per row, changes tracked and flushed before
    // each query and at the end, every UPDATE guarded by an optimistic check. Ok commits.
    let stock = db.session(|s| {
        let gizmo = Product::get(s, cond!(|p| p.name == "Gizmo"))?.expect("inserted above");
        let same = select!(p for p in Product if p.name == "Gizmo").fetch_one(current())?;
        assert!(gizmo == same, "one object per row");
        gizmo.set_stock(gizmo.stock() + 5)?; // UPDATE ... SET "stock" = ? WHERE "id" = ? AND "stock" = ?
        gizmo.set_maker("Acme Ltd")?; // setters take `impl Into<T>`: a &str for a String
        gizmo.update(|p| p.price *= 0.9)?; // several fields at once; only changed ones are sent
        s.create(Product { name: "Thingamajig".into(), maker: "Acme".into(), price: 7.0, ..Default::default() })?;
        let cheap = select!(p.name for p in Product if p.price < 10.0).fetch_all(s)?; // flushes first
        println!("in the session: {cheap:?}, {} statements sent", s.stats().statements);
        Ok(gizmo.stock())
    })?;
    println!("Gizmo stock after the session: {stock}");

    // Relations, followed as in Pony (`o.customer.name`, `for o in c.orders`): `fetch()` goes
    // through the session running on this thread, so it is not passed along.
    db.session(|s| {
        let ann = s.create(Customer { name: "Ann".into(), ..Default::default() })?;
        for total in [Decimal::new(1250, 2), Decimal::new(30, 0)] {
            s.create(Order { total, customer: (&ann).into(), ..Default::default() })?;
        }
        for order in ann.orders().fetch()? {
            println!("an order of {}: {}", order.customer().fetch()?.name(), order.total());
        }
        // Pony's `ann.to_dict(with_collections=True)`; decimals are exact text in JSON.
        let dict = s.to_dict(&ann, &DictOptions::new().with_collections())?;
        println!("{}", JsonValue::Object(dict));
        // The table check is the database's: a discount above the total is refused.
        let too_generous = s.transaction(|s| {
            s.create(Order {
                total: Decimal::ONE,
                discount: Decimal::TEN,
                customer: (&ann).into(),
                ..Default::default()
            })?;
            s.flush() // undone alone: the savepoint rolls back, the session goes on
        });
        assert_eq!(too_generous.unwrap_err().kind(), ErrorKind::CheckViolation);
        Ok(())
    })?;

    db.delete(&loaded)?;
    assert_eq!(db.by_pk::<Product>(&widget.id).unwrap_err().kind(), ErrorKind::NotFound);
    println!("done: {} products left", db.all::<Product>()?.len());
    Ok(())
}
