//! Compile-fail tests of the derives and `migrations!`: each `tests/ui/*.rs` must fail to compile with the message
//! in its `.stderr`, pointing at the user's token. Regenerate with
//! `TRYBUILD=overwrite cargo test --test ui` and read every changed file.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
