//! Where rendered SQL goes: the statement text and its binds, or, in shape mode, a hash of the
//! text (the statement cache's key) with the binds still collected in order. Every piece of text
//! the walker and the dialects write passes through here, so both modes see the same pieces.
//! The writer needs only how a dialect spells identifiers, placeholders and literals
//! ([`Spelling`]); everything else a dialect does is `syntax.rs`'s `SqlDialect`, built on it.

use crate::ast::Name;
use crate::value::Value;
use std::marker::PhantomData;

/// FNV-1a over the pieces of SQL text a render would write.
#[derive(Debug)]
pub(crate) struct ShapeHasher(u64);

impl Default for ShapeHasher {
    fn default() -> Self {
        ShapeHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl ShapeHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }

    fn write(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash.
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// How a dialect spells the tokens the writer writes itself: quoted identifiers, placeholders
/// and string literals. `SqlDialect` (`syntax.rs`) extends it with everything else.
pub(crate) trait Spelling: Sized + 'static {
    /// The identifier quote character.
    const QUOTE: char = '"';
    /// Whether a backslash in a string literal is an escape (and so must be doubled).
    const BACKSLASH_ESCAPES: bool = false;

    /// Writes the placeholder of parameter `n` (1-based).
    fn write_placeholder(out: &mut String, _n: usize) {
        out.push('?');
    }

    /// Writes `ident` quoted, doubling any quote character inside it.
    fn write_ident(out: &mut String, ident: &str) {
        let q = Self::QUOTE;
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
    }
}

/// The output of one render for dialect `D`.
pub(crate) struct Writer<'h, D> {
    pub(super) text: String,
    pub(super) binds: Vec<Value>,
    pub(super) placeholders: usize,
    /// Set in shape mode: text goes to the hasher instead of `text`.
    hash: Option<&'h mut ShapeHasher>,
    dialect: PhantomData<D>,
}

impl<'h, D: Spelling> Writer<'h, D> {
    /// A writer building text, with room for `capacity` bytes.
    pub(super) fn text(capacity: usize) -> Self {
        Writer {
            text: String::with_capacity(capacity),
            binds: Vec::new(),
            placeholders: 0,
            hash: None,
            dialect: PhantomData,
        }
    }

    /// A writer feeding `hasher` instead of building text.
    pub(super) fn shape(hasher: &'h mut ShapeHasher) -> Self {
        Writer { text: String::new(), binds: Vec::new(), placeholders: 0, hash: Some(hasher), dialect: PhantomData }
    }

    /// Writes SQL text fixed in the program. In shape mode a static piece is identified by its
    /// address and length: the same piece always has the same text.
    #[inline]
    pub(crate) fn sql(&mut self, s: &'static str) {
        match &mut self.hash {
            Some(h) => h.word(s.as_ptr() as u64 ^ ((s.len() as u64) << 48)),
            None => self.text.push_str(s),
        }
    }

    /// Writes SQL text computed at run time (type names, raw fragments built in code).
    #[inline]
    pub(crate) fn sql_dyn(&mut self, s: &str) {
        match &mut self.hash {
            Some(h) => h.write(s.as_bytes()),
            None => self.text.push_str(s),
        }
    }

    pub(crate) fn name(&mut self, n: &Name) {
        match n {
            std::borrow::Cow::Borrowed(s) => self.sql(s),
            std::borrow::Cow::Owned(s) => self.sql_dyn(s),
        }
    }

    #[inline]
    pub(crate) fn ident(&mut self, name: &Name) {
        match &mut self.hash {
            // Quoting is a function of the name: the name and a marker identify it.
            Some(h) => {
                h.word(0xff);
                self.name(name);
            }
            None => D::write_ident(&mut self.text, name),
        }
    }

    pub(crate) fn idents(&mut self, names: &[Name]) {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.ident(n);
        }
    }

    #[inline]
    pub(crate) fn placeholder(&mut self) {
        self.placeholders += 1;
        match &mut self.hash {
            Some(h) => h.word(0xfd),
            None => D::write_placeholder(&mut self.text, self.placeholders),
        }
    }

    #[inline]
    pub(crate) fn bind(&mut self, v: Value) {
        self.placeholder();
        self.binds.push(v);
    }

    /// A string literal in DDL, where binds are not allowed. Only for text fixed in the program
    /// (enum values), never for user data.
    pub(crate) fn string_literal(&mut self, s: &str) {
        if let Some(h) = &mut self.hash {
            h.write(s.as_bytes());
            return;
        }
        self.text.push('\'');
        for c in s.chars() {
            if c == '\'' || (c == '\\' && D::BACKSLASH_ESCAPES) {
                self.text.push(c);
            }
            self.text.push(c);
        }
        self.text.push('\'');
    }
}
