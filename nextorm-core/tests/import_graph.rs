//! The files of `nextorm-core/src` import each other without circles: each file imports only
//! from the layers below its own (see the core's layers in `ARCHITECTURE.md`). The graph is read
//! from the sources by `import_graph/checker.rs`; the checker is tested here on small sets of
//! files too, so that this test cannot pass by finding no imports.

#[path = "import_graph/checker.rs"]
mod checker;

use checker::{Circle, ImportGraph, SourceFile};
use std::path::Path;

/// Every `.rs` file below `dir`, with its path relative to `root`.
fn read_sources(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the source directory is readable")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("below the root");
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            out.push(SourceFile { path: parts.join("/"), text });
        }
    }
}

/// The circles, one per paragraph: the files, then each edge between them and its paths.
fn describe(circles: &[Circle]) -> String {
    let mut out = String::new();
    for circle in circles {
        out.push_str(&format!("a circle of {} files: {}\n", circle.files.len(), circle.files.join(", ")));
        for (from, to, names) in &circle.edges {
            out.push_str(&format!("  {from} -> {to}: {}\n", names.join(", ")));
        }
    }
    out
}

fn graph_of(files: &[(&str, &str)]) -> ImportGraph {
    let files: Vec<SourceFile> =
        files.iter().map(|(path, text)| SourceFile { path: (*path).into(), text: (*text).into() }).collect();
    ImportGraph::new(&files)
}

fn has_edge(graph: &ImportGraph, from: &str, to: &str) -> bool {
    graph.edges().any(|(f, t, _)| f == from && t == to)
}

#[test]
fn nextorm_core_has_no_import_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_sources(&src, &src, &mut files);
    let graph = ImportGraph::new(&files);
    let edges = graph.edges().count();
    // Nearly every file imports something: finding fewer edges than files means the scan broke.
    assert!(edges > files.len(), "only {edges} imports found between {} files", files.len());
    let circles = graph.circles();
    assert!(circles.is_empty(), "nextorm-core/src has import circles:\n{}", describe(&circles));
}

#[test]
fn a_circle_is_reported_with_the_paths_that_tie_it() {
    let graph = graph_of(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\npub use a::Apple;\n"),
        ("a.rs", "use crate::b::Basket;\npub struct Apple { basket: Basket }\n"),
        // Through the crate root's re-export: the edge goes to the file defining `Apple`.
        ("b.rs", "pub struct Basket(Vec<crate::Apple>);\n"),
        ("c.rs", "use crate::{a::Apple, b::Basket};\npub fn pack(_: Apple, _: Basket) {}\n"),
    ]);
    let circles = graph.circles();
    assert_eq!(circles.len(), 1, "{}", describe(&circles));
    assert_eq!(circles[0].files, ["a.rs", "b.rs"]);
    assert_eq!(
        circles[0].edges,
        [
            ("a.rs".to_owned(), "b.rs".to_owned(), vec!["crate::b::Basket".to_owned()]),
            ("b.rs".to_owned(), "a.rs".to_owned(), vec!["crate::Apple".to_owned()]),
        ]
    );
}

#[test]
fn a_parent_and_its_child_importing_each_other_are_a_circle() {
    let graph = graph_of(&[
        ("lib.rs", "mod render;\n"),
        ("render.rs", "mod writer;\npub use writer::*;\npub(crate) const LIMIT: usize = 64;\n"),
        ("render/writer.rs", "use super::LIMIT;\npub struct Writer([u8; LIMIT]);\n"),
    ]);
    let circles = graph.circles();
    assert_eq!(circles.len(), 1, "{}", describe(&circles));
    assert_eq!(circles[0].files, ["render.rs", "render/writer.rs"]);
}

#[test]
fn layered_files_have_no_circle_whatever_their_comments_strings_and_tests_say() {
    let graph = graph_of(&[
        ("lib.rs", "mod a;\nmod b;\npub use a::*;\n"),
        ("a.rs", "use crate::b::Basket;\npub struct Apple { basket: Basket }\n"),
        (
            "b.rs",
            r##"//! Not an import: crate::a::Apple.
pub struct Basket(&'static str);
/* Nor this: crate::Apple, /* nested */ crate::a::Apple. */
pub const LABEL: &str = "crate::a::Apple";
pub const RAW: &str = r#"crate::Apple"#;
pub const QUOTE: char = '\'';
#[cfg(test)]
mod tests {
    use crate::Apple;
    fn uses(_: crate::a::Apple) {}
}
"##,
        ),
    ]);
    assert!(graph.circles().is_empty(), "{}", describe(&graph.circles()));
    assert!(has_edge(&graph, "a.rs", "b.rs"));
    assert!(has_edge(&graph, "lib.rs", "a.rs"), "the glob re-export is an import of its module");
    assert!(!has_edge(&graph, "b.rs", "a.rs"));
}

#[test]
fn a_lifetime_is_not_a_static_item_and_a_glob_reexport_is_followed() {
    let graph = graph_of(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\npub use a::*;\n"),
        ("a.rs", "pub struct Apple;\n"),
        // `&'static Apple` must not make `c.rs` the definer of `Apple`.
        ("c.rs", "pub fn first() -> &'static crate::Apple { &crate::Apple }\n"),
        ("b.rs", "use crate::Apple;\npub fn take(_: Apple) {}\n"),
    ]);
    assert!(has_edge(&graph, "b.rs", "a.rs"));
    assert!(has_edge(&graph, "c.rs", "a.rs"));
    assert!(!has_edge(&graph, "b.rs", "lib.rs"), "a name re-exported through a glob leads to its definer");
}
