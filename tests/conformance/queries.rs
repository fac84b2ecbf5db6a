// Query cases, written once; included into `blocking` and `asynchronous` beside cases.rs.

/// Loads `university.sql` into the scratch database.
async fn load_university(db: &Db) -> Result<()> {
    transaction!(db, |tx| {
        for statement in crate::university::statements() {
            aw!(tx.execute(&statement, ()))?;
        }
        Ok(())
    })
}

/// Every university oracle query that needs no relation navigation, compared with PonyORM's
/// results. (`u43` and `u47` use the foreign-key column `group_number` directly, which is what
/// Pony's `s.group.number` reads.)
pub async fn university_oracle(t: &Ctx) -> Result<()> {
    use crate::university::*;
    use nextorm::query::{count as count_all, desc};
    let db = &t.db;
    let label = t.label();
    load_university(db).await?;

    macro_rules! entities {
        ($id:literal, $query:expr) => {{
            let rows = aw!($query.fetch_all(db)).map_err(|e| e.context($id))?;
            check_rows($id, &label, rows.iter().map(key_of).collect());
        }};
    }
    macro_rules! rows {
        ($id:literal, $query:expr) => {{
            let rows = aw!($query.fetch_all(db)).map_err(|e| e.context($id))?;
            check_rows($id, &label, rows.iter().map(Oracle::oracle).collect());
        }};
    }

    entities!("u01_gpa_gt_float", select!(s for s in Student if s.gpa > 3.6));
    let (min_credits, max_credits) = (4, 5);
    entities!(
        "u02_credits_between_params",
        select!(c for c in Course if c.credits >= min_credits && c.credits <= max_credits)
    );
    entities!("u03_and_binds_tighter", select!(s for s in Student if s.gpa > 3.6 || s.gpa < 2.4 && s.scholarship.is_some()));
    entities!("u04_not_of_or", select!(c for c in Course if !(c.lab_hours == 0 || c.credits < 4)));
    entities!("u05_or_in_parens", select!(c for c in Course if (c.semester == 1 || c.semester == 2) && !c.elective));
    entities!("u06_arith_precedence", select!(c for c in Course if c.lect_hours - 2 * c.lab_hours > 0));
    entities!("u07_decimal_arith_null", select!(s for s in Student if s.scholarship * 2 + 500 > 4000));
    entities!("u08_in_literal", select!(c for c in Course if c.semester.is_in([1, 3, 5])));
    let course_names = vec!["Calculus", "Programming", "Linear Algebra"];
    entities!("u09_not_in_param", select!(c for c in Course if c.name.not_in(&course_names)));
    let prefix = "Mar";
    entities!("u10_startswith_param", select!(s for s in Student if s.name.starts_with(prefix)));
    entities!("u11_contains_escaped", select!(s for s in Student if s.email.contains("_")));
    entities!("u12_not_contains_nullable", select!(s for s in Student if !s.email.contains("_")));
    entities!("u13_slice_middle", select!(s for s in Student if s.name[1..3] == "ar"));
    entities!("u14_upper_eq", select!(c for c in Course if c.name.to_uppercase() == "LINEAR ALGEBRA"));
    entities!("u15_lower_endswith", select!(g for g in Group if g.major.to_lowercase().ends_with("engineering")));
    entities!("u16_len", select!(s for s in Student if s.name.len() >= 15));
    entities!("u17_str_truthiness", select!(s for s in Student if s.tel != ""));
    entities!("u18_is_none", select!(s for s in Student if s.scholarship.is_none()));
    let (d_from, d_to) = (NaiveDate::from_ymd_opt(2003, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2004, 1, 1).unwrap());
    entities!("u19_date_range_params", select!(s for s in Student if s.dob >= d_from && s.dob < d_to));

    rows!("u24_without_distinct", select!(c.credits for c in Course).without_distinct());
    let n = aw!(select!(s for s in Student if s.scholarship.is_some()).count(db))?;
    check_value("u26_count", &label, n.oracle());
    let total = aw!(select!(s.scholarship for s in Student).sum(db))?;
    check_value("u27_sum_skips_null", &label, total.oracle());
    let average = aw!(select!(s.gpa for s in Student).avg(db))?;
    check_value("u28_avg_float", &label, average.oracle());
    rows!(
        "u29_group_multi_agg",
        select!((c.semester, count(), sum(c.credits), min(c.lab_hours), max(c.lect_hours)) for c in Course)
    );

    entities!(
        "u43_order_multi_key",
        select!(s for s in Student if s.group_number <= 103).order_by(|s| (s.group_number, desc(s.gpa), s.id))
    );
    entities!("u44_order_composite", select!(c for c in Course).order_by(|c| (desc(c.credits), c.name, c.semester)));
    entities!("u45_page", select!(s for s in Student).order_by(|s| (s.name, s.id)).page(3, 10));
    entities!(
        "u46_limit_offset",
        select!(s for s in Student if s.scholarship.is_some()).order_by(|s| (desc(s.scholarship), s.id)).limit(5).offset(5)
    );
    rows!(
        "u47_order_by_aggregate",
        select!((s.group_number, count()) for s in Student).order_by(|s| (desc(count_all()), s.group_number))
    );
    let first = aw!(select!(s for s in Student).order_by(|s| (s.dob, s.id)).first(db))?;
    check_value("u48_first", &label, first.as_ref().map_or(serde_json::Value::Null, object_of));
    let any = aw!(select!(c for c in Course if c.credits > 6).exists(db))?;
    check_value("u49_exists_false", &label, any.oracle());
    let chemistry = aw!(Department::get(db, |d| d.name.eq("Department of Chemistry")))?;
    check_value("u50_get_unique", &label, chemistry.as_ref().map_or(serde_json::Value::Null, object_of));
    let nobody = aw!(Student::get(db, |s| s.email.eq("nobody@uni.example.edu")))?;
    check_value("u51_get_none", &label, nobody.as_ref().map_or(serde_json::Value::Null, object_of));
    let s42 = aw!(Student::by_pk(db, &42))?;
    check_value("u52_pk", &label, object_of(&s42));
    let la2 = aw!(Course::by_pk(db, &("Linear Algebra".to_string(), 2)))?;
    check_value("u53_composite_pk", &label, object_of(&la2));
    Ok(())
}
