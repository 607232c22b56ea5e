//! The line a secret sits on, as the text report shows it: every secret on it redacted (not
//! only the one reported, so a second token on the same line does not leak through the
//! first one's report), cut to a window around the secret, terminal escapes stripped.

use std::ops::Range;

use keyward_core::Secret;

use crate::sanitize::for_terminal;

/// Characters of context kept on each side of the secret.
const CONTEXT: usize = 60;

/// A piece of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Plain text from the file.
    Text(String),
    /// Another secret on the same line: printed like the reported one (redacted by default).
    Secret(Secret),
    /// The reported secret.
    Focus,
}

/// A finding's line, split around every secret on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// 1-based line number.
    pub line: usize,
    /// The pieces, left to right; `…` marks where the line was cut.
    pub parts: Vec<Part>,
}

/// A line rendered for the terminal, with where the caret goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The line.
    pub text: String,
    /// Characters before the secret.
    pub caret_at: usize,
    /// The secret's width in characters (at least 1).
    pub caret_len: usize,
}

impl Snippet {
    /// The snippet of the secret at `focus` in `bytes` on 1-based `line`; `secrets` are the
    /// spans of every secret found in `bytes` (the focus may be among them).
    pub fn build(
        bytes: &[u8],
        line: usize,
        focus: Range<usize>,
        secrets: &[Range<usize>],
    ) -> Snippet {
        let range = crate::suppress::line_around(bytes, focus.start);
        let focus = focus.start..focus.end.min(range.end).max(focus.start);
        let mut others: Vec<Range<usize>> = secrets
            .iter()
            .filter(|s| s.start < range.end && s.end > range.start)
            .filter(|s| s.end <= focus.start || s.start >= focus.end)
            .map(|s| s.start.max(range.start)..s.end.min(range.end))
            .collect();
        others.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut left = Vec::new();
        let mut right = Vec::new();
        let mut pos = range.start;
        for s in others.iter().filter(|s| s.end <= focus.start) {
            if s.start < pos {
                continue;
            }
            push_text(&mut left, &bytes[pos..s.start]);
            left.push(Part::Secret(Secret::new(&bytes[s.clone()])));
            pos = s.end;
        }
        push_text(&mut left, &bytes[pos..focus.start]);
        pos = focus.end;
        for s in others.iter().filter(|s| s.start >= focus.end) {
            if s.start < pos {
                continue;
            }
            push_text(&mut right, &bytes[pos..s.start]);
            right.push(Part::Secret(Secret::new(&bytes[s.clone()])));
            pos = s.end;
        }
        push_text(&mut right, &bytes[pos..range.end]);
        let mut parts = cut_left(left);
        parts.push(Part::Focus);
        parts.extend(cut_right(right));
        Snippet { line, parts }
    }

    /// The line with `focus` (the reported secret as it may be shown) in its place and other
    /// secrets shown the same way (`show`).
    pub fn render(&self, focus: &str, show: bool) -> Rendered {
        let mut text = String::new();
        let mut caret_at = 0;
        let mut caret_len = 1;
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(&clean(t)),
                Part::Secret(s) => text.push_str(&clean(&if show {
                    s.expose().to_string()
                } else {
                    s.redacted()
                })),
                Part::Focus => {
                    caret_at = text.chars().count();
                    let shown = clean(focus);
                    caret_len = shown.chars().count().max(1);
                    text.push_str(&shown);
                }
            }
        }
        Rendered {
            text,
            caret_at,
            caret_len,
        }
    }
}

/// Tabs become spaces (so the caret lines up) and control characters `?`.
fn clean(s: &str) -> String {
    for_terminal(&s.replace('\t', "    "))
}

fn push_text(parts: &mut Vec<Part>, bytes: &[u8]) {
    if !bytes.is_empty() {
        parts.push(Part::Text(String::from_utf8_lossy(bytes).into_owned()));
    }
}

/// Keeps at most [`CONTEXT`] characters at the end of `parts` (the text left of the focus).
fn cut_left(parts: Vec<Part>) -> Vec<Part> {
    let mut budget = CONTEXT;
    let mut kept = Vec::new();
    let mut cut = false;
    for part in parts.into_iter().rev() {
        let len = width(&part);
        if len <= budget {
            budget -= len;
            kept.push(part);
            continue;
        }
        if let Part::Text(t) = part
            && budget > 0
        {
            let skip = t.chars().count() - budget;
            kept.push(Part::Text(t.chars().skip(skip).collect()));
        }
        cut = true;
        break;
    }
    if cut {
        kept.push(Part::Text("…".into()));
    }
    kept.reverse();
    kept
}

/// Keeps at most [`CONTEXT`] characters at the start of `parts` (the text right of it).
fn cut_right(parts: Vec<Part>) -> Vec<Part> {
    let mut budget = CONTEXT;
    let mut kept = Vec::new();
    for part in parts {
        let len = width(&part);
        if len <= budget {
            budget -= len;
            kept.push(part);
            continue;
        }
        if let Part::Text(t) = part
            && budget > 0
        {
            kept.push(Part::Text(t.chars().take(budget).collect()));
        }
        kept.push(Part::Text("…".into()));
        break;
    }
    kept
}

fn width(part: &Part) -> usize {
    match part {
        Part::Text(t) => t.chars().count(),
        Part::Secret(s) => s.redacted().chars().count(),
        Part::Focus => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(hay: &str, needles: &[&str]) -> Vec<Range<usize>> {
        needles
            .iter()
            .map(|n| {
                let i = hay.find(n).expect("needle");
                i..i + n.len()
            })
            .collect()
    }

    #[test]
    fn every_secret_on_the_line_is_redacted() {
        let hay = "first\nA=tok_AAAAAAAAAAAA B=tok_BBBBBBBBBBBB\nlast";
        let s = spans(hay, &["tok_AAAAAAAAAAAA", "tok_BBBBBBBBBBBB"]);
        let snip = Snippet::build(hay.as_bytes(), 2, s[1].clone(), &s);
        let r = snip.render("tok_…", false);
        assert_eq!(r.text, "A=tok_… B=tok_…");
        assert_eq!((r.caret_at, r.caret_len), (10, 5));
        let shown = snip.render("tok_BBBBBBBBBBBB", true);
        assert_eq!(shown.text, "A=tok_AAAAAAAAAAAA B=tok_BBBBBBBBBBBB");
    }

    #[test]
    fn long_lines_are_cut_around_the_secret() {
        let hay = format!("{}KEY{}", "a".repeat(500), "b".repeat(500));
        let s = spans(&hay, &["KEY"]);
        let r = Snippet::build(hay.as_bytes(), 1, s[0].clone(), &s).render("K…", false);
        assert_eq!(r.text, format!("…{}K…{}…", "a".repeat(60), "b".repeat(60)));
        assert_eq!(r.caret_at, 61);
    }

    #[test]
    fn a_secret_at_the_cut_is_dropped_whole() {
        let hay = format!("tok_SECRETSECRETSECRET{}KEY", " ".repeat(59));
        let s = spans(&hay, &["tok_SECRETSECRETSECRET", "KEY"]);
        let r = Snippet::build(hay.as_bytes(), 1, s[1].clone(), &s).render("KEY", true);
        assert!(!r.text.contains("SECRET"), "{}", r.text);
    }

    #[test]
    fn tabs_and_escapes_are_made_harmless() {
        let hay = "\tx=\x1b[31mKEY";
        let s = spans(hay, &["KEY"]);
        let r = Snippet::build(hay.as_bytes(), 1, s[0].clone(), &s).render("KEY", true);
        assert_eq!(r.text, "    x=?[31mKEY");
        assert_eq!(r.caret_at, 11);
    }
}
