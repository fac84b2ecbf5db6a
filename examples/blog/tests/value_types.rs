//! The value types through nextorm's re-exports, in a crate that depends on neither chrono,
//! rust_decimal, uuid nor serde_json: an entity declares its fields with `nextorm::chrono::…`
//! (or the prelude's names), and the derive and the round trip work.

use nextorm::prelude::*;

/// Every re-exported value type, spelled through `nextorm::` and through the prelude.
#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Stamp {
    #[pk]
    id: i64,
    at: nextorm::chrono::NaiveDateTime,
    on: NaiveDate,
    utc: DateTime<Utc>,
    #[orm(precision = 10, scale = 2)]
    amount: nextorm::rust_decimal::Decimal,
    rate: Option<Decimal>,
    token: nextorm::uuid::Uuid,
    extra: nextorm::serde_json::Value,
    more: Option<JsonValue>,
    #[orm(max_len = 20)]
    label: String,
}

#[test]
fn value_types_through_the_reexports_round_trip() -> nextorm::Result<()> {
    let db = Database::open("sqlite::memory:")?;
    db.generate_mapping(CreateTables::Yes)?;
    let on = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let mut stamp = Stamp {
        id: 0,
        at: on.and_hms_opt(12, 30, 5).unwrap(),
        on,
        utc: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        amount: Decimal::new(12345, 2),
        rate: Some("0.25".parse().unwrap()),
        token: Uuid::from_u128(42),
        extra: nextorm::serde_json::json!({"k": [1, 2]}),
        more: None,
        label: "first".into(),
    };
    db.insert(&mut stamp)?;
    assert_eq!(db.by_pk::<Stamp>(&stamp.id)?, stamp);

    // The setters take `impl Into<T>`: a `&str` for a `String` field.
    db.session(|s| {
        let found = Stamp::get(s, cond!(|t| t.label == "first"))?.expect("the stamp");
        found.set_label("second")?;
        Ok(())
    })?;
    assert_eq!(db.by_pk::<Stamp>(&stamp.id)?.label, "second");
    Ok(())
}
