//! The university oracle: PonyORM's results for 53 queries over `university.sql`, computed on
//! SQLite, PostgreSQL and MariaDB (`tests/fixtures/university/`, copied from the team's shared
//! oracle). The entities here map that schema; `Single` fields carry the foreign keys, and `Student.courses` / `Course.students` is
//! the many-to-many pair whose join table `course_student` nextorm names the way the dataset does.

use chrono::NaiveDate;
use nextorm::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "department")]
pub struct Department {
    #[pk]
    pub number: i32,
    #[orm(max_len = 100, unique)]
    pub name: String,
    pub groups: Set<Group>,
    pub courses: Set<Course>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "student_group")]
pub struct Group {
    #[pk(auto = false)]
    pub number: i32,
    #[orm(max_len = 100)]
    pub major: String,
    #[orm(column = "dept_number")]
    pub dept: Single<Department>,
    pub students: Set<Student>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "course")]
pub struct Course {
    #[pk]
    #[orm(max_len = 100)]
    pub name: String,
    #[pk]
    pub semester: i32,
    pub lect_hours: i32,
    pub lab_hours: i32,
    pub credits: i32,
    pub elective: bool,
    #[orm(column = "dept_number")]
    pub dept: Single<Department>,
    pub students: Set<Student>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "student")]
pub struct Student {
    #[pk]
    pub id: i32,
    #[orm(max_len = 100)]
    pub name: String,
    pub dob: NaiveDate,
    #[orm(max_len = 20)]
    pub tel: String,
    pub gpa: f64,
    #[orm(max_len = 100)]
    pub email: Option<String>,
    #[orm(precision = 7, scale = 2)]
    pub scholarship: Option<Decimal>,
    #[orm(column = "group_number")]
    pub group: Single<Group>,
    pub courses: Set<Course>,
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/university")
}

/// The statements of `university.sql`: comment lines dropped, split on `;` at line ends.
pub fn statements() -> Vec<String> {
    let path = dir().join("university.sql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let body: String = text.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    body.split(";\n").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The expected results, by query id.
pub fn expected(id: &str) -> &'static Json {
    static ALL: OnceLock<HashMap<String, Json>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let path = dir().join("expected.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Json = serde_json::from_str(&text).expect("expected.json is JSON");
        doc["queries"]
            .as_array()
            .expect("queries")
            .iter()
            .map(|q| (q["id"].as_str().unwrap().to_owned(), q["result"].clone()))
            .collect()
    });
    all.get(id).unwrap_or_else(|| panic!("no oracle query {id}"))
}

/// A result value in the oracle's encoding.
pub trait Oracle {
    fn oracle(&self) -> Json;
}

impl Oracle for i32 {
    fn oracle(&self) -> Json {
        Json::from(*self)
    }
}
impl Oracle for i64 {
    fn oracle(&self) -> Json {
        Json::from(*self)
    }
}
impl Oracle for bool {
    fn oracle(&self) -> Json {
        Json::from(*self)
    }
}
impl Oracle for String {
    fn oracle(&self) -> Json {
        Json::from(self.as_str())
    }
}
impl Oracle for f64 {
    fn oracle(&self) -> Json {
        Json::from((self * 10_000.0).round() / 10_000.0)
    }
}
impl Oracle for Decimal {
    fn oracle(&self) -> Json {
        Json::from(format!("{:.2}", self.round_dp(2)))
    }
}
impl Oracle for NaiveDate {
    fn oracle(&self) -> Json {
        Json::from(self.format("%Y-%m-%d").to_string())
    }
}
impl<T: Oracle> Oracle for Option<T> {
    fn oracle(&self) -> Json {
        self.as_ref().map_or(Json::Null, Oracle::oracle)
    }
}
macro_rules! oracle_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Oracle),+> Oracle for ($($t,)+) {
            fn oracle(&self) -> Json {
                Json::Array(vec![$(self.$i.oracle()),+])
            }
        }
    };
}
oracle_tuple!(A 0);
oracle_tuple!(A 0, B 1);
oracle_tuple!(A 0, B 1, C 2);
oracle_tuple!(A 0, B 1, C 2, D 3);
oracle_tuple!(A 0, B 1, C 2, D 3, E 4);

fn value_json(v: &nextorm::Value) -> Json {
    match v {
        nextorm::Value::Int(i) => Json::from(*i),
        nextorm::Value::Text(s) => Json::from(s.as_str()),
        nextorm::Value::Float(f) => f.oracle(),
        nextorm::Value::Decimal(d) => d.oracle(),
        nextorm::Value::Date(d) => d.oracle(),
        nextorm::Value::Bool(b) => Json::from(*b),
        nextorm::Value::Null(_) => Json::Null,
        other => panic!("no oracle encoding for {other:?}"),
    }
}

/// An entity's key in the oracle's encoding.
pub fn key_of<E: nextorm::Entity>(e: &E) -> Json {
    use nextorm::Key;
    Json::Array(e.key().key_values().unwrap().iter().map(value_json).collect())
}

/// An entity's columns in the oracle's object encoding.
pub fn object_of<E: nextorm::Entity>(e: &E) -> Json {
    let meta = E::meta();
    let values = e.column_values().unwrap();
    Json::Object(meta.columns.iter().zip(values.iter()).map(|(c, v)| (c.name.to_owned(), value_json(v))).collect())
}

fn canonical(rows: &mut [Json]) {
    rows.sort_by_key(|r| r.to_string());
}

fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() <= 1e-3,
        (Json::String(x), Json::String(y)) if x.parse::<f64>().is_ok() && y.parse::<f64>().is_ok() => {
            x.parse::<Decimal>().ok() == y.parse::<Decimal>().ok()
        }
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Compares a list result (`entities` or `rows`) with the oracle.
pub fn check_rows(id: &str, label: &str, got: Vec<Json>) {
    let expected = expected(id);
    // A one-column row is a one-element list in the oracle.
    let mut got: Vec<Json> = got.into_iter().map(|r| if r.is_array() { r } else { Json::Array(vec![r]) }).collect();
    let mut want: Vec<Json> = expected["rows"].as_array().expect("rows").clone();
    if expected["ordered"] != Json::Bool(true) {
        canonical(&mut got);
        canonical(&mut want);
    }
    assert!(
        got.len() == want.len() && got.iter().zip(&want).all(|(a, b)| same(a, b)),
        "{id} on {label}: expected {} rows {want:?}\n got {} rows {got:?}",
        want.len(),
        got.len()
    );
}

/// Compares a scalar or object result with the oracle.
pub fn check_value(id: &str, label: &str, got: Json) {
    let want = &expected(id)["value"];
    assert!(same(&got, want), "{id} on {label}: expected {want}, got {got}");
}
