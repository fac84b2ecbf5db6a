//! Compile-fail tests of `select!` and `cond!`: each `tests/ui_select/*.rs` must fail to compile
//! with the message in its `.stderr`, pointing at the user's token; `tests/ui_select/pass/*.rs`
//! use every form of the expansion and must compile and run. Regenerate with
//! `TRYBUILD=overwrite cargo test --test ui_select` and read every changed file.

#[test]
fn ui_select() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui_select/pass/*.rs");
    t.compile_fail("tests/ui_select/*.rs");
}
