//! What the REST table tests (`devportal_rest.rs`, `admin_rest.rs`) share: the route scanner,
//! which reads `src/http/*.rs` as text and finds every registered route (so a new operation
//! without a row in a table fails its test), and a digest of every table to show that refused
//! calls changed nothing.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// `{anything}` → `{}`, so the table may use WSO2's parameter names.
pub fn normalize(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The text of the balanced `( … )` starting at `open` (exclusive), skipping string literals.
pub fn balanced(src: &str, open: usize) -> Option<&str> {
    let bytes = src.as_bytes();
    assert_eq!(bytes[open], b'(');
    let (mut depth, mut i, mut in_str) = (0usize, open, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
        } else if b == b'(' {
            depth += 1;
        } else if b == b')' {
            depth -= 1;
            if depth == 0 {
                return Some(&src[open + 1..i]);
            }
        }
        i += 1;
    }
    None
}

/// Splits at commas outside brackets and strings.
pub fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start, mut in_str, mut esc) = (Vec::new(), 0i32, 0, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

/// The first string literal of `s`, unescaped enough for route templates.
pub fn literal(s: &str) -> Option<String> {
    let start = s.find('"')? + 1;
    let end = start + s[start..].find('"')?;
    Some(s[start..end].to_string())
}

/// Marks what the scan cannot know (a positional `{}` or an unknown name).
pub const UNKNOWN: char = '\u{1}';

/// A `let` in a source file: `let name = format!("…")`, `let name = |p: &str| format!("…{p}")`
/// or `let name = "…"`, at a byte offset.
pub struct Def {
    pub at: usize,
    pub name: String,
    pub param: Option<String>,
    pub template: String,
}

pub struct Source {
    pub text: String,
    pub defs: Vec<Def>,
}

pub fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Source {
    pub fn new(raw: &str) -> Self {
        // Whole-line comments only: `//` inside strings ("http://…") stays.
        let text: String = raw
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut defs = Vec::new();
        for (at, _) in text.match_indices("let ") {
            if at > 0 && is_ident(text[..at].chars().last().unwrap()) {
                continue;
            }
            let rest = &text[at + 4..];
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            let Some(eq) = rest[name.len()..].trim_start().strip_prefix('=') else {
                continue;
            };
            let Some(end) = eq.find(";\n").or_else(|| eq.find(';')) else {
                continue;
            };
            let rhs = eq[..end].trim();
            let (param, body) = match rhs.strip_prefix('|') {
                Some(r) => {
                    let close = r.find('|').unwrap();
                    let p: String = r[..close]
                        .trim()
                        .chars()
                        .take_while(|c| is_ident(*c))
                        .collect();
                    (Some(p), r[close + 1..].trim())
                }
                None => (None, rhs),
            };
            if body.starts_with("format!(") || body.starts_with('"') {
                let args = if body.starts_with('"') {
                    vec![body]
                } else {
                    let open = body.find('(').unwrap();
                    match balanced(body, open) {
                        Some(a) => split_top(a),
                        None => continue,
                    }
                };
                let Some(mut template) = literal(args[0]) else {
                    continue;
                };
                if args.len() > 1 {
                    // Positional arguments: unknowable here.
                    template = template.replace("{}", &UNKNOWN.to_string());
                }
                defs.push(Def {
                    at,
                    name,
                    param,
                    template,
                });
            }
        }
        Source { text, defs }
    }

    pub fn def(&self, name: &str, before: usize) -> Option<&Def> {
        self.defs
            .iter()
            .rev()
            .find(|d| d.name == name && d.at < before)
    }

    /// Renders a `format!` template: `{{`/`}}` escapes, `{NAME}` from the consts, this
    /// file's `let`s or the closure's argument.
    pub fn render(
        &self,
        template: &str,
        at: usize,
        consts: &BTreeMap<String, String>,
        arg: Option<(&str, &str)>,
    ) -> String {
        let mut out = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let name = name.split(':').next().unwrap_or_default();
                    if let Some((_, v)) = arg.filter(|(p, _)| *p == name) {
                        out.push_str(v);
                    } else if let Some(v) = consts.get(name) {
                        out.push_str(v);
                    } else if let Some(d) = self.def(name, at).filter(|d| d.param.is_none()) {
                        out.push_str(&self.render(&d.template, d.at, consts, None));
                    } else {
                        out.push(UNKNOWN);
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// The path a `.route(` argument stands for (with `UNKNOWN` where the scan cannot tell).
    pub fn path_of(&self, expr: &str, at: usize, consts: &BTreeMap<String, String>) -> String {
        let e = expr.trim().trim_start_matches('&').trim();
        if e.starts_with('"') {
            return literal(e).unwrap_or_default();
        }
        if let Some(inner) = e.strip_prefix("format!(") {
            let args = split_top(&inner[..inner.len().saturating_sub(1)]);
            let mut t = literal(args[0]).unwrap_or_default();
            if args.len() > 1 {
                t = t.replace("{}", &UNKNOWN.to_string());
            }
            return self.render(&t, at, consts, None);
        }
        let name: String = e.chars().take_while(|c| is_ident(*c)).collect();
        let rest = e[name.len()..].trim();
        match (self.def(&name, at), rest.starts_with('(')) {
            (Some(d), true) if d.param.is_some() => {
                // A plain string argument, not a template: `{id}` stays as written.
                let arg = literal(rest).unwrap_or_else(|| UNKNOWN.to_string());
                self.render(
                    &d.template,
                    d.at,
                    consts,
                    Some((d.param.as_deref().unwrap(), &arg)),
                )
            }
            (Some(d), false) if d.param.is_none() && rest.is_empty() => {
                self.render(&d.template, d.at, consts, None)
            }
            _ => UNKNOWN.to_string(),
        }
    }
}

/// HTTP methods a method router such as `get(a).post(b)` or `axum::routing::delete(c)` serves.
pub fn methods_of(expr: &str) -> Vec<String> {
    const NAMES: &[&str] = &[
        "get", "post", "put", "delete", "patch", "head", "options", "trace", "any",
    ];
    let mut out = Vec::new();
    for name in NAMES {
        for (i, _) in expr.match_indices(name) {
            let before = expr[..i].chars().last();
            let after = expr[i + name.len()..].trim_start().chars().next();
            let starts = before.is_none_or(|c| matches!(c, '.' | ':' | ' ' | '\n' | '(' | '&'));
            if starts && after == Some('(') {
                out.push(name.to_uppercase());
            }
        }
    }
    out
}

/// Every (METHOD, normalized path below the base constant `name`, which must equal `value`)
/// registered in `src/http/*.rs`, and whether a catch-all `{NAME}/{*rest}` is among them.
pub fn routes_under(name: &str, value: &str) -> (BTreeSet<(String, String)>, bool) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("src/http")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "read the sources in {dir}");
    // `pub const ADMIN: &str = "…";` and the other bases.
    let mut consts = BTreeMap::new();
    for (_, text) in &files {
        for line in text.lines() {
            let l = line.trim_start().trim_start_matches("pub ");
            if let Some(rest) = l.strip_prefix("const ")
                && rest.contains(": &str =")
            {
                let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                if let Some(v) = literal(rest) {
                    consts.insert(name, v);
                }
            }
        }
    }
    let base = consts
        .get(name)
        .unwrap_or_else(|| panic!("const {name}"))
        .clone();
    assert_eq!(base, value);

    let mut routes = BTreeSet::new();
    let mut catch_all = false;
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for (file, raw) in &files {
        let src = Source::new(raw);
        for (at, _) in src.text.match_indices(".route(") {
            let args = balanced(&src.text, at + ".route".len())
                .unwrap_or_else(|| panic!("{file}: unbalanced .route( at {at}"));
            let args = split_top(args);
            assert_eq!(args.len(), 2, "{file}: .route({args:?})");
            let path = src.path_of(args[0], at, &consts);
            let known = path.split(UNKNOWN).next().unwrap_or_default();
            let under = known.starts_with(&base);
            let could_be = base.starts_with(known) || known.starts_with(&base);
            assert!(
                !path.contains(UNKNOWN) || !could_be,
                "{file}: cannot read the route path `{}` (read as {path:?}); teach this scan",
                args[0]
            );
            if !under {
                continue;
            }
            *per_file.entry(file.clone()).or_default() += 1;
            if path.contains("{*") {
                catch_all = true;
                continue;
            }
            let methods = methods_of(args[1]);
            assert!(
                !methods.is_empty(),
                "{file}: no methods in `{}` for {path}",
                args[1]
            );
            for m in methods {
                routes.insert((m, normalize(&path[base.len()..])));
            }
        }
    }
    // The scan sees routes where they are: each file that mentions the base in a route.
    for (file, text) in &files {
        if text.contains(".route(") && text.contains(&format!("{{{name}}}")) {
            assert!(
                per_file.get(file).copied().unwrap_or(0) > 0,
                "{file} registers {name} routes the scan did not find"
            );
        }
    }
    (routes, catch_all)
}

/// Every row of every table (a digest per table), to show that refused calls changed nothing.
pub async fn table_digests(db: &sqlx::PgPool) -> BTreeMap<String, String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let digest: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{t}\" t"
        )))
        .fetch_one(db)
        .await
        .unwrap();
        out.insert(t, digest);
    }
    out
}
