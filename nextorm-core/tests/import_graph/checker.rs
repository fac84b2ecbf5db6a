//! The import graph of a crate's source files, found by plain scanning: which file's `use`
//! declarations and `crate::`, `super::`, `self::` (or child-module) paths name an item of which
//! other file, following `pub use` re-exports (globs included) to the file that defines the name;
//! and the circles of that graph (its strongly connected components of more than one file).
//! Comments, string and character literals, and `#[cfg(test)]` items are skipped.

use std::collections::{BTreeMap, BTreeSet};

/// A source file: its path below `src/` (`session/identity.rs`) and its text.
pub(crate) struct SourceFile {
    pub(crate) path: String,
    pub(crate) text: String,
}

/// One import circle: its files, and each edge between them with the paths that make it.
#[derive(Debug)]
pub(crate) struct Circle {
    pub(crate) files: Vec<String>,
    pub(crate) edges: Vec<(String, String, Vec<String>)>,
}

/// The files and which file imports which, by the paths written.
pub(crate) struct ImportGraph {
    paths: Vec<String>,
    /// `edges[from][to]`: the paths in `from` that name items of `to`.
    edges: Vec<BTreeMap<usize, BTreeSet<String>>>,
}

impl ImportGraph {
    /// The graph of `files`, a crate's `src/` tree (`lib.rs`, `a.rs`, `a/b.rs`, `c/mod.rs`).
    pub(crate) fn new(files: &[SourceFile]) -> ImportGraph {
        let scanned: Vec<Scanned> = files.iter().map(|f| Scanned::new(&f.path, &f.text)).collect();
        let modules: BTreeMap<Vec<String>, usize> =
            scanned.iter().enumerate().map(|(i, s)| (s.module.clone(), i)).collect();
        let resolver = Resolver { files: &scanned, modules: &modules };
        let mut edges = vec![BTreeMap::new(); scanned.len()];
        for (from, file) in scanned.iter().enumerate() {
            for path in &file.paths {
                if let Some(to) = resolver.resolve(from, path)
                    && to != from
                {
                    edges[from].entry(to).or_insert_with(BTreeSet::new).insert(path.join("::"));
                }
            }
        }
        ImportGraph { paths: files.iter().map(|f| f.path.clone()).collect(), edges }
    }

    /// Every edge, as (importing file, imported file, paths).
    pub(crate) fn edges(&self) -> impl Iterator<Item = (&str, &str, &BTreeSet<String>)> {
        self.edges.iter().enumerate().flat_map(move |(from, to)| {
            to.iter().map(move |(&to, names)| (self.paths[from].as_str(), self.paths[to].as_str(), names))
        })
    }

    /// The circles: the strongly connected components of more than one file (Tarjan).
    pub(crate) fn circles(&self) -> Vec<Circle> {
        let mut tarjan = Tarjan {
            edges: &self.edges,
            index: vec![None; self.paths.len()],
            low: vec![0; self.paths.len()],
            stack: Vec::new(),
            on_stack: vec![false; self.paths.len()],
            next: 0,
            components: Vec::new(),
        };
        for v in 0..self.paths.len() {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|mut component| {
                component.sort_by(|a, b| self.paths[*a].cmp(&self.paths[*b]));
                let edges = component
                    .iter()
                    .flat_map(|&from| {
                        self.edges[from].iter().filter(|(to, _)| component.contains(to)).map(move |(&to, names)| {
                            (self.paths[from].clone(), self.paths[to].clone(), names.iter().cloned().collect())
                        })
                    })
                    .collect();
                Circle { files: component.iter().map(|&i| self.paths[i].clone()).collect(), edges }
            })
            .collect()
    }
}

/// Tarjan's strongly connected components over the file indexes.
struct Tarjan<'g> {
    edges: &'g [BTreeMap<usize, BTreeSet<String>>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    stack: Vec<usize>,
    on_stack: Vec<bool>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in self.edges[v].keys() {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(index) if self.on_stack[w] => self.low[v] = self.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// What one file says about names: the module it is, what it defines at its top level, what it
/// re-exports, and every path it writes.
struct Scanned {
    module: Vec<String>,
    defined: BTreeSet<String>,
    /// `pub use` items: the name they make visible (`*` for a glob) and the path they name.
    reexports: Vec<(String, Vec<String>)>,
    /// The paths of its `use` declarations and of `crate::`, `super::` and `self::` paths in code.
    paths: Vec<Vec<String>>,
    /// Its child modules' names, which its `use` declarations may start with.
    children: BTreeSet<String>,
}

impl Scanned {
    fn new(path: &str, text: &str) -> Scanned {
        let tokens = without_test_items(tokenize(text));
        let mut scanned = Scanned {
            module: module_of(path),
            defined: BTreeSet::new(),
            reexports: Vec::new(),
            paths: Vec::new(),
            children: declared_modules(&tokens),
        };
        scanned.read(&tokens);
        scanned
    }

    fn read(&mut self, tokens: &[Token]) {
        const ITEMS: [&str; 9] = ["struct", "enum", "fn", "trait", "type", "const", "static", "union", "mod"];
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => depth = depth.saturating_sub(1),
                Token::Ident(word) if word == "use" => {
                    let public = is_public(tokens, i);
                    let (items, end) = use_tree(tokens, i + 1);
                    for (path, name) in items {
                        if public && depth == 0 {
                            self.reexports.push((name, path.clone()));
                        }
                        if path.last().is_some_and(|s| s == "*") {
                            self.paths.push(path[..path.len() - 1].to_vec());
                        } else {
                            self.paths.push(path);
                        }
                    }
                    i = end;
                    continue;
                }
                Token::Ident(word) if depth == 0 && ITEMS.contains(&word.as_str()) => {
                    let mut at = i + 1;
                    if matches!(tokens.get(at), Some(Token::Ident(w)) if w == "mut") {
                        at += 1;
                    }
                    if let Some(Token::Ident(name)) = tokens.get(at)
                        && name != "_"
                        && !ITEMS.contains(&name.as_str())
                    {
                        self.defined.insert(name.clone());
                    }
                }
                Token::Ident(word) if depth == 0 && word == "macro_rules" => {
                    if let (Some(Token::Punct('!')), Some(Token::Ident(name))) = (tokens.get(i + 1), tokens.get(i + 2))
                    {
                        self.defined.insert(name.clone());
                    }
                }
                Token::Ident(word) if starts_path(tokens, i) => {
                    let is_root = matches!(word.as_str(), "crate" | "$crate" | "super" | "self");
                    if is_root || self.children.contains(word) {
                        let (path, end) = path_at(tokens, i);
                        if path.len() > 1 {
                            self.paths.push(path);
                        }
                        i = end;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// The modules a file declares in files of their own (`mod name;`).
fn declared_modules(tokens: &[Token]) -> BTreeSet<String> {
    tokens
        .windows(3)
        .filter_map(|w| match w {
            [Token::Ident(m), Token::Ident(name), Token::Punct(';')] if m == "mod" => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the path starting at `tokens[i]` begins there (not a later segment of a path or a
/// field access) and goes on with `::`.
fn starts_path(tokens: &[Token], i: usize) -> bool {
    let before = i.checked_sub(1).map(|b| &tokens[b]);
    let continues = matches!(before, Some(Token::PathSep | Token::Punct('.')));
    !continues && matches!(tokens.get(i + 1), Some(Token::PathSep))
}

/// The path `a::b::C` starting at `tokens[i]`, and the index after it.
fn path_at(tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    while let Some(Token::Ident(segment)) = tokens.get(i) {
        path.push(segment.clone());
        i += 1;
        if matches!(tokens.get(i), Some(Token::PathSep)) && matches!(tokens.get(i + 1), Some(Token::Ident(_))) {
            i += 1;
        } else {
            break;
        }
    }
    (path, i)
}

/// Whether the `use` at `tokens[at]` is `pub` or `pub(...)`.
fn is_public(tokens: &[Token], at: usize) -> bool {
    match at.checked_sub(1).map(|b| &tokens[b]) {
        Some(Token::Ident(w)) => w == "pub",
        Some(Token::Punct(')')) => {
            let open = tokens[..at].iter().rposition(|t| *t == Token::Punct('('));
            open.and_then(|o| o.checked_sub(1)).is_some_and(|p| tokens[p] == Token::Ident("pub".into()))
        }
        _ => false,
    }
}

/// The flattened items of the use tree starting at `tokens[at]`: each full path (a glob ends in
/// `*`, `{self}` names the module) with the name it makes visible; and the index after the `;`.
fn use_tree(tokens: &[Token], at: usize) -> (Vec<(Vec<String>, String)>, usize) {
    let mut items = Vec::new();
    let end = use_subtree(tokens, at, &[], &mut items);
    let semicolon = tokens[end..].iter().position(|t| *t == Token::Punct(';')).map_or(tokens.len(), |p| end + p + 1);
    (items, semicolon)
}

fn use_subtree(tokens: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) -> usize {
    let mut path = prefix.to_vec();
    if matches!(tokens.get(i), Some(Token::PathSep)) {
        // `::std::...`: an external crate's root.
        path.push("::".into());
        i += 1;
    }
    loop {
        match tokens.get(i) {
            Some(Token::Ident(segment)) => {
                path.push(segment.clone());
                i += 1;
                if matches!(tokens.get(i), Some(Token::PathSep)) {
                    i += 1;
                    continue;
                }
                let mut name = segment.clone();
                if matches!(tokens.get(i), Some(Token::Ident(w)) if w == "as") {
                    if let Some(Token::Ident(alias)) = tokens.get(i + 1) {
                        name = alias.clone();
                    }
                    i += 2;
                }
                if segment == "self" {
                    path.pop();
                    if name == "self" {
                        name = path.last().cloned().unwrap_or_default();
                    }
                }
                out.push((path, name));
                return i;
            }
            Some(Token::Punct('*')) => {
                path.push("*".into());
                out.push((path, "*".into()));
                return i + 1;
            }
            Some(Token::Punct('{')) => {
                i += 1;
                while !matches!(tokens.get(i), None | Some(Token::Punct('}'))) {
                    i = use_subtree(tokens, i, &path, out);
                    if matches!(tokens.get(i), Some(Token::Punct(','))) {
                        i += 1;
                    }
                }
                return i + 1;
            }
            _ => return i,
        }
    }
}

/// Resolves paths to the files that define what they name.
struct Resolver<'f> {
    files: &'f [Scanned],
    modules: &'f BTreeMap<Vec<String>, usize>,
}

impl Resolver<'_> {
    /// The file that `path`, written in file `from`, names: the file defining its item, through
    /// re-exports; the module's own file when the item is not found there. `None` for paths
    /// outside the crate.
    fn resolve(&self, from: usize, path: &[String]) -> Option<usize> {
        self.find(from, path, 0).map(|(file, _)| file)
    }

    /// [`Resolver::resolve`], with whether the item itself was found (a definition, or a
    /// re-export leading to one) rather than only its module.
    fn find(&self, from: usize, path: &[String], depth: usize) -> Option<(usize, bool)> {
        if depth > 16 {
            return None;
        }
        let here = &self.files[from].module;
        let (first, rest) = path.split_first()?;
        let mut module = match first.as_str() {
            "crate" | "$crate" => Vec::new(),
            "self" => here.clone(),
            "super" => here[..here.len().checked_sub(1)?].to_vec(),
            child if self.files[from].children.contains(child) => {
                let mut m = here.clone();
                m.push(child.to_owned());
                m
            }
            _ => return None,
        };
        let mut rest = rest;
        while let Some((segment, tail)) = rest.split_first() {
            if segment == "super" {
                module.pop()?;
            } else {
                let mut deeper = module.clone();
                deeper.push(segment.clone());
                if !self.modules.contains_key(&deeper) {
                    break;
                }
                module = deeper;
            }
            rest = tail;
        }
        let file = *self.modules.get(&module)?;
        let Some(name) = rest.first() else { return Some((file, true)) };
        if self.files[file].defined.contains(name) {
            return Some((file, true));
        }
        let reexports = &self.files[file].reexports;
        for (_, target) in reexports.iter().filter(|(visible, _)| visible == name) {
            let mut through = target.clone();
            through.extend(rest[1..].iter().cloned());
            if let Some(found) = self.find(file, &through, depth + 1) {
                return Some(found);
            }
        }
        for (_, glob) in reexports.iter().filter(|(visible, _)| visible == "*") {
            let mut through = glob[..glob.len() - 1].to_vec();
            through.extend(rest.iter().cloned());
            if let Some((found, true)) = self.find(file, &through, depth + 1) {
                return Some((found, true));
            }
        }
        Some((file, false))
    }
}

/// The module path of a file below `src/`: `lib.rs` is the crate root, `a/b.rs` and
/// `a/b/mod.rs` are `a::b`.
fn module_of(path: &str) -> Vec<String> {
    let stem = path.strip_suffix(".rs").unwrap_or(path);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] || parts == ["main"] {
        parts.pop();
    }
    parts
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An identifier or keyword (`$crate` included).
    Ident(String),
    /// `'a`, `'static`.
    Lifetime,
    /// `::`.
    PathSep,
    /// Any other character that is not whitespace.
    Punct(char),
    /// A literal: number, string or character (its contents dropped).
    Literal,
}

/// The tokens of `text`, comments dropped.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&chars, i) {
            tokens.push(Token::Literal);
            i = end;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            tokens.push(Token::Literal);
            i += 1;
        } else if c == '\'' {
            if next == Some('\\') {
                // An escaped character: `'\''`, `'\n'`, `'\u{1F600}'`.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                tokens.push(Token::Literal);
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                tokens.push(Token::Literal);
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                tokens.push(Token::Lifetime);
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            tokens.push(Token::Literal);
        } else if ident(c) || (c == '$' && next.is_some_and(ident)) {
            let start = i;
            i += 1;
            if c == 'r' && next == Some('#') && chars.get(i + 1).copied().is_some_and(ident) {
                i += 1;
            }
            while i < chars.len() && ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().filter(|&&ch| ch != '#').collect();
            if matches!(word.as_str(), "b" | "br" | "c")
                && chars.get(i) == Some(&'\'')
                && chars.get(i + 2) == Some(&'\'')
            {
                tokens.push(Token::Literal);
                i += 3;
            } else if matches!(word.as_str(), "b" | "c") && chars.get(i) == Some(&'"') {
                // The string that follows is read next, as any string.
            } else {
                tokens.push(Token::Ident(word));
            }
        } else if c == ':' && next == Some(':') {
            tokens.push(Token::PathSep);
            i += 2;
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// Where the raw string literal starting at `chars[i]` (`r"..."`, `br#"..."#`) ends, if one does.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let mut at = i;
    if matches!(chars.get(at), Some('b' | 'c')) {
        at += 1;
    }
    if chars.get(at) != Some(&'r') {
        return None;
    }
    at += 1;
    let hashes = chars[at..].iter().take_while(|&&c| c == '#').count();
    at += hashes;
    if chars.get(at) != Some(&'"') {
        return None;
    }
    at += 1;
    while at < chars.len() {
        if chars[at] == '"' && chars[at + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes {
            return Some(at + 1 + hashes);
        }
        at += 1;
    }
    Some(chars.len())
}

/// `tokens` without the items marked `#[cfg(test)]` (a test module's body, a test-only import).
fn without_test_items(tokens: Vec<Token>) -> Vec<Token> {
    let marker = [
        Token::Punct('#'),
        Token::Punct('['),
        Token::Ident("cfg".into()),
        Token::Punct('('),
        Token::Ident("test".into()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i..].starts_with(&marker) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Skip the item: up to its `;`, or through its braced body.
        i += marker.len();
        let mut depth = 0usize;
        while i < tokens.len() {
            match tokens[i] {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                Token::Punct(';') if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}
