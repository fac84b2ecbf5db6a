//! What a field's type is, read from its syntax alone (the macro knows no schema): `Option<T>`,
//! `Set<T>`/`HasOne<T>`, a primitive integer, a path's last segment.

use syn::Type;

/// The type inside `Type::Group` / `Type::Paren` wrappers (macro_rules `$t:ty` adds groups).
pub(crate) fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => peel(&g.elem),
        Type::Paren(p) => peel(&p.elem),
        other => other,
    }
}

/// The last path segment of a path type.
pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match peel(ty) {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

/// `T` when `ty` is syntactically `<name><T>` (any path ending in `name`), such as `Set<Order>`.
pub(crate) fn generic_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let seg = last_segment(ty)?;
    if seg.ident != name {
        return None;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The marker (`"Set"` or `"HasOne"`) and `T` when `ty` is syntactically `Set<T>` or
/// `HasOne<T>`: a relation field that maps to no column.
pub(crate) fn relation_marker(ty: &Type) -> Option<(&'static str, &Type)> {
    ["Set", "HasOne"].into_iter().find_map(|name| generic_arg(ty, name).map(|t| (name, t)))
}

/// `T` when `ty` is syntactically `Option<T>`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

/// Whether the last path segment of `ty` (or of `T` in `Option<T>`) is `name`, without generics.
pub(crate) fn is_named(ty: &Type, name: &str) -> bool {
    let ty = option_inner(ty).unwrap_or(ty);
    last_segment(ty).is_some_and(|s| s.ident == name && s.arguments.is_none())
}

/// Whether `ty` is syntactically a primitive integer (an auto-increment key candidate).
pub(crate) fn is_integer(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| {
        s.arguments.is_none() && ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"].iter().any(|n| s.ident == n)
    })
}

/// Whether `ty` (or `T` in `Option<T>`) is syntactically a primitive number, `bool` or `char`:
/// a setter takes these as they are, since `impl Into<u64>` would not accept a bare literal
/// (`5` falls back to `i32`, which does not convert into `u64`).
pub(crate) fn is_primitive_value(ty: &Type) -> bool {
    let ty = option_inner(ty).unwrap_or(ty);
    is_integer(ty)
        || last_segment(ty).is_some_and(|s| {
            s.arguments.is_none()
                && ["f32", "f64", "bool", "char", "i128", "u128", "isize", "usize"].iter().any(|n| s.ident == n)
        })
}
