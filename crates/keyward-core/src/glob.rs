//! Path globs, matched directly without compiling them to regexes: the lists in `patterns/`
//! hold a few hundred simple globs and are matched only against paths with findings, so
//! compiling them up front (milliseconds) would cost more than every match of a scan.
//!
//! Syntax: `*` (any run of characters but `/`), `?` (one character but `/`), `**` as a whole
//! path component (any number of components, none included), `{a,b}` (alternatives, no
//! nesting). Everything else is literal; matching is case-sensitive.

/// A glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The alternatives after expanding `{a,b}`.
    alternatives: Vec<Vec<u8>>,
}

impl Glob {
    /// Parses a pattern; an unclosed `{` is an error.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        Ok(Glob {
            alternatives: expand(pattern)?
                .into_iter()
                .map(String::into_bytes)
                .collect(),
        })
    }

    /// Does `path` ('/'-separated) match?
    pub fn is_match(&self, path: &str) -> bool {
        self.alternatives
            .iter()
            .any(|p| matches(p, path.as_bytes()))
    }
}

/// A list of globs: does any match?
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobList(Vec<Glob>);

impl GlobList {
    /// Parses every pattern, naming the first bad one.
    pub fn new(patterns: &[String]) -> Result<GlobList, String> {
        patterns
            .iter()
            .map(|p| Glob::new(p).map_err(|e| format!("{p:?}: {e}")))
            .collect::<Result<_, _>>()
            .map(GlobList)
    }

    /// Does any glob match `path`?
    pub fn is_match(&self, path: &str) -> bool {
        self.0.iter().any(|g| g.is_match(path))
    }

    /// No globs at all?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('{') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find('}')
        .map(|c| open + c)
        .ok_or("unclosed {")?;
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let mut out = Vec::new();
    for alt in body.split(',') {
        for rest in expand(tail)? {
            out.push(format!("{head}{alt}{rest}"));
        }
    }
    Ok(out)
}

fn matches(p: &[u8], s: &[u8]) -> bool {
    // `**/` at a component start: zero or more whole components.
    if let Some(rest) = p.strip_prefix(b"**/") {
        if matches(rest, s) {
            return true;
        }
        return s
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'/' && matches(rest, &s[i + 1..]));
    }
    // A trailing `/**` (or a lone `**`): everything below.
    if p == b"**" {
        return true;
    }
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            let mut i = 0;
            loop {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if i == s.len() || s[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        Some((b'?', rest)) => s.first().is_some_and(|&b| b != b'/') && matches(rest, &s[1..]),
        Some((&c, rest)) => s.first() == Some(&c) && matches(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).expect("glob").is_match(s)
    }

    #[test]
    fn double_star_and_star() {
        assert!(m("**/package-lock.json", "package-lock.json"));
        assert!(m("**/package-lock.json", "a/b/package-lock.json"));
        assert!(!m("**/package-lock.json", "a/b/package-lock.json.rs"));
        assert!(m("**/test/**", "a/test/b/c.js"));
        assert!(m("**/test/**", "test/x"));
        assert!(!m("**/test/**", "a/tests/x"));
        assert!(m("**/*.test.*", "src/a.test.ts"));
        assert!(!m("src/*.vue", "src/components/A.vue"));
        assert!(m("src/*.vue", "src/A.vue"));
        assert!(m(
            "**/res/values*/*.xml",
            "app/src/main/res/values-fr/strings.xml"
        ));
        assert!(m("**/*Tests/**", "ios/FleetViewTests/a.swift"));
        assert!(m("dist/**", "dist/a/b.js"));
        assert!(m("**/.env.*", "web/.env.local"));
        assert!(!m("**/.env.*", "web/.env"));
        assert!(m("a?c", "abc") && !m("a?c", "a/c"));
    }

    #[test]
    fn alternatives() {
        assert!(m("src/**/*.{js,ts}", "src/a/b.ts"));
        assert!(m("src/**/*.{js,ts}", "src/b.js"));
        assert!(!m("src/**/*.{js,ts}", "src/b.rs"));
        assert!(Glob::new("a{b").is_err());
        assert!(GlobList::new(&["ok".into(), "{bad".into()]).is_err());
    }
}
