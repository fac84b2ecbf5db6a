//! Raw SQL with portable `?` placeholders.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use std::borrow::Cow;

/// Rewrites the `?` placeholders of a raw statement for `dialect` and checks their count against
/// the parameters given. `??` stands for a literal `?` (PostgreSQL's JSON operators). Quoted
/// strings, quoted identifiers, dollar-quoted bodies and comments are left alone.
///
/// ```
/// use nextorm_core::{rawsql::prepare, Dialect};
/// let sql = prepare("SELECT name FROM t WHERE id = ? AND note <> '?'", Dialect::Postgres, 1).unwrap();
/// assert_eq!(sql, "SELECT name FROM t WHERE id = $1 AND note <> '?'");
/// assert!(prepare("SELECT ?", Dialect::Sqlite, 2).is_err());
/// ```
pub fn prepare(sql: &str, dialect: Dialect, params: usize) -> Result<Cow<'_, str>> {
    if sql.contains('\0') {
        return Err(Error::invalid_value("the SQL text contains a NUL byte"));
    }
    let bytes = sql.as_bytes();
    let dollar_quoting = dialect.has_dollar_quoted_strings();
    let mut out = String::new();
    let mut copied = 0;
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(bytes, i, q),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = find(bytes, i, b"\n").map_or(bytes.len(), |e| e + 1),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |e| e + 2),
            b'$' if dollar_quoting => i = skip_dollar_quoted(bytes, i),
            b'?' => {
                out.push_str(&sql[copied..i]);
                if bytes.get(i + 1) == Some(&b'?') {
                    out.push('?');
                    i += 2;
                } else {
                    count += 1;
                    dialect.write_placeholder(&mut out, count);
                    i += 1;
                }
                copied = i;
            }
            _ => i += 1,
        }
    }
    if count != params {
        return Err(Error::config(format!(
            "the SQL has {count} `?` placeholder(s) but {params} parameter(s) were given"
        )));
    }
    if copied == 0 {
        return Ok(Cow::Borrowed(sql));
    }
    out.push_str(&sql[copied..]);
    Ok(Cow::Owned(out))
}

fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        if bytes[i] == b'\\' && quote != b'"' {
            i += 2;
            continue;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_dollar_quoted(bytes: &[u8], start: usize) -> usize {
    let tag_end = bytes[start + 1..].iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
    match tag_end.map(|n| start + 1 + n) {
        Some(end) if bytes[end] == b'$' => {
            let tag = &bytes[start..=end];
            find(bytes, end + 1, tag).map_or(bytes.len(), |e| e + tag.len())
        }
        _ => start + 1,
    }
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_literals_are_rewritten() {
        let sql = "SELECT '?', \"a?\", x::text FROM t -- ?\nWHERE a = ? AND b ?? 'k' AND c = ? /* ? */";
        let pg = prepare(sql, Dialect::Postgres, 2).unwrap();
        assert_eq!(pg, "SELECT '?', \"a?\", x::text FROM t -- ?\nWHERE a = $1 AND b ? 'k' AND c = $2 /* ? */");
        let lite = prepare(sql, Dialect::Sqlite, 2).unwrap();
        assert!(lite.contains("a = ? AND b ? 'k'"));
    }

    #[test]
    fn dollar_quoted_bodies_are_skipped() {
        let pg = prepare("SELECT $$ ? $$, $tag$?$tag$, ?", Dialect::Postgres, 1).unwrap();
        assert_eq!(pg, "SELECT $$ ? $$, $tag$?$tag$, $1");
    }

    #[test]
    fn wrong_parameter_count_and_nul_are_errors() {
        assert!(prepare("SELECT ?, ?", Dialect::MariaDb, 1).is_err());
        assert!(prepare("SELECT 1\0", Dialect::MariaDb, 0).is_err());
        assert!(matches!(prepare("SELECT 1", Dialect::Postgres, 0).unwrap(), Cow::Borrowed(_)));
    }
}
