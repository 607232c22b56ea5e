//! Inline directives: a comment on a secret's line, or on the line above it, that silences
//! that one finding.
//!
//! keyward's own form takes an optional reason and an expiry date:
//!
//! ```text
//! token = "…"  # keyward:allow reason="test fixture" until=2026-12-31
//! # keyward:allow-next-line reason="documented example"
//! token = "…"
//! ```
//!
//! The directives of other scanners are honoured too, so that a repository that already
//! silenced a finding for them need not do it again: `gitleaks:allow` (same line),
//! `pragma: allowlist secret` (same line) and `pragma: allowlist nextline secret` (the line
//! above).
//!
//! A directive is looked for only on the lines of findings, so it costs nothing on clean
//! files; listing the directives that silence nothing ([`unused`]) reads every line that
//! mentions `allow`, and is done only when asked.

use std::fmt;
use std::ops::Range;

use memchr::{memchr, memmem, memrchr};

/// Which directive was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// `keyward:allow`
    KeywardAllow,
    /// `keyward:allow-next-line`
    KeywardAllowNextLine,
    /// `gitleaks:allow`
    GitleaksAllow,
    /// `pragma: allowlist secret`
    PragmaAllowlist,
    /// `pragma: allowlist nextline secret`
    PragmaAllowlistNextLine,
}

impl Form {
    /// The directive as it is written.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::KeywardAllow => "keyward:allow",
            Form::KeywardAllowNextLine => "keyward:allow-next-line",
            Form::GitleaksAllow => "gitleaks:allow",
            Form::PragmaAllowlist => "pragma: allowlist secret",
            Form::PragmaAllowlistNextLine => "pragma: allowlist nextline secret",
        }
    }

    /// Does it silence the line below it rather than its own?
    pub fn next_line(self) -> bool {
        matches!(
            self,
            Form::KeywardAllowNextLine | Form::PragmaAllowlistNextLine
        )
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar date (UTC), for `until=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil-from-days).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Today, in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An inline directive found on or above a finding's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Which directive.
    pub form: Form,
    /// The 1-based line it is written on.
    pub line: usize,
    /// `reason="…"`, if given.
    pub reason: Option<String>,
    /// `until=YYYY-MM-DD`, if given: the last day it silences.
    pub until: Option<Date>,
    /// An `until=` that is not a date: the directive silences nothing until it is fixed.
    pub invalid_until: Option<String>,
}

/// Whether a directive silences its finding today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// It does.
    Active,
    /// Its `until` date has passed.
    Expired(Date),
    /// Its `until` is not a date.
    Invalid(String),
}

impl Directive {
    /// Does it silence its finding on `today`?
    pub fn state(&self, today: Date) -> State {
        if let Some(bad) = &self.invalid_until {
            return State::Invalid(bad.clone());
        }
        match self.until {
            Some(until) if until < today => State::Expired(until),
            _ => State::Active,
        }
    }
}

/// The directives written on one line (without its newline); `line` is its 1-based number.
pub fn parse_line(text: &[u8], line: usize) -> Vec<Directive> {
    let mut out = Vec::new();
    // Every form has "allow" in it (the pragma in any case).
    if memmem::find(&text.to_ascii_lowercase(), b"allow").is_none() {
        return out;
    }
    let mut at = 0;
    while at < text.len() {
        let Some((start, form, len)) = next_marker(&text[at..]) else {
            break;
        };
        let after = at + start + len;
        let mut d = Directive {
            form,
            line,
            reason: None,
            until: None,
            invalid_until: None,
        };
        if matches!(form, Form::KeywardAllow | Form::KeywardAllowNextLine) {
            parse_options(&text[after..], &mut d);
        }
        out.push(d);
        at = after;
    }
    out
}

/// The first directive marker in `text`: its offset, form and length.
fn next_marker(text: &[u8]) -> Option<(usize, Form, usize)> {
    let mut best: Option<(usize, Form, usize)> = None;
    let mut consider = |found: Option<(usize, Form, usize)>| {
        if let Some(f) = found
            && best.is_none_or(|b| f.0 < b.0)
        {
            best = Some(f);
        }
    };
    consider(find_word(text, b"keyward:allow").map(|i| {
        if text[i + 13..].starts_with(b"-next-line") && boundary(text, i + 23) {
            (i, Form::KeywardAllowNextLine, 23)
        } else {
            (i, Form::KeywardAllow, 13)
        }
    }));
    consider(find_word(text, b"gitleaks:allow").map(|i| (i, Form::GitleaksAllow, 14)));
    consider(find_pragma(text));
    best
}

/// `needle` in `text` where it is not followed by a letter, digit, `_`, or a `-` that starts
/// a different word (`keyward:allow-next-line` is found by its own check).
fn find_word(text: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memmem::find(&text[from..], needle) {
        let at = from + i;
        let end = at + needle.len();
        if boundary(text, end) || text[end..].starts_with(b"-next-line") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn boundary(text: &[u8], end: usize) -> bool {
    text.get(end)
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))
}

/// `pragma: allowlist secret` or `pragma: allowlist nextline secret`, any case, any spacing.
fn find_pragma(text: &[u8]) -> Option<(usize, Form, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = memmem::find(&lower[from..], b"pragma:") {
        let start = from + i;
        let mut p = start + 7;
        let skip_ws = |p: &mut usize| {
            while lower.get(*p).is_some_and(|c| *c == b' ' || *c == b'\t') {
                *p += 1;
            }
        };
        skip_ws(&mut p);
        if lower[p..].starts_with(b"allowlist") {
            p += 9;
            let sep = lower
                .get(p)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'-'));
            if sep {
                p += 1;
                skip_ws(&mut p);
                let mut form = Form::PragmaAllowlist;
                if lower[p..].starts_with(b"nextline") {
                    p += 8;
                    skip_ws(&mut p);
                    form = Form::PragmaAllowlistNextLine;
                }
                if lower[p..].starts_with(b"secret") && boundary(&lower, p + 6) {
                    return Some((start, form, p + 6 - start));
                }
            }
        }
        from = start + 1;
    }
    None
}

/// `reason="…"` (or `'…'`) and `until=YYYY-MM-DD`, in any order, after a keyward directive.
fn parse_options(rest: &[u8], d: &mut Directive) {
    let text = String::from_utf8_lossy(rest);
    let mut s: &str = &text;
    loop {
        s = s.trim_start();
        if let Some(v) = s.strip_prefix("reason=") {
            let Some(quote) = v.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                let end = v.find(char::is_whitespace).unwrap_or(v.len());
                d.reason = Some(v[..end].to_string());
                s = &v[end..];
                continue;
            };
            let body = &v[1..];
            let end = body.find(quote).unwrap_or(body.len());
            d.reason = Some(body[..end].to_string());
            s = body.get(end + 1..).unwrap_or("");
        } else if let Some(v) = s.strip_prefix("until=") {
            let end = v
                .find(|c: char| c.is_whitespace() || c == '*' || c == '"' || c == '\'')
                .unwrap_or(v.len());
            let value = v[..end].trim_end_matches([',', ';', ')', '>', '-']);
            match Date::parse(value) {
                Some(date) => d.until = Some(date),
                None => d.invalid_until = Some(value.to_string()),
            }
            s = &v[end..];
        } else {
            break;
        }
    }
}

/// The byte range of the line holding `pos` (without its newline).
pub fn line_around(bytes: &[u8], pos: usize) -> Range<usize> {
    let pos = pos.min(bytes.len());
    let start = memrchr(b'\n', &bytes[..pos]).map_or(0, |i| i + 1);
    let end = memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
    start..end
}

/// The byte offset where 1-based `line` starts, if the content has that many lines.
pub fn line_start(bytes: &[u8], line: usize) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    memchr::memchr_iter(b'\n', bytes)
        .nth(line - 2)
        .map(|i| i + 1)
        .filter(|&i| i <= bytes.len())
}

/// The directive that speaks for a finding starting at byte `pos` on 1-based `line`: one
/// on the same line, or a next-line form on the line above. An active directive wins over
/// an expired or invalid one, so that a stale comment next to a fresh one does no harm.
pub fn directive_for(bytes: &[u8], pos: usize, line: usize, today: Date) -> Option<Directive> {
    let here = line_around(bytes, pos);
    let mut found: Vec<Directive> = parse_line(&bytes[here.clone()], line)
        .into_iter()
        .filter(|d| !d.form.next_line())
        .collect();
    if here.start > 0 {
        let above = line_around(bytes, here.start - 1);
        found.extend(
            parse_line(&bytes[above], line.saturating_sub(1))
                .into_iter()
                .filter(|d| d.form.next_line()),
        );
    }
    let active = found.iter().position(|d| d.state(today) == State::Active);
    match active {
        Some(i) => Some(found.swap_remove(i)),
        None => found.into_iter().next(),
    }
}

/// Every directive in `bytes` whose target line (its own, or the next for next-line forms)
/// is not in `used`: it silences nothing.
pub fn unused(bytes: &[u8], used: &[usize]) -> Vec<Directive> {
    let mut out = Vec::new();
    let finder = memmem::Finder::new(b"allow");
    let mut line_start = 0;
    let mut line = 1;
    let mut counted_to = 0;
    for hit in finder.find_iter(bytes) {
        if hit < line_start {
            continue;
        }
        line += memchr::memchr_iter(b'\n', &bytes[counted_to..hit]).count();
        let range = line_around(bytes, hit);
        counted_to = range.end.min(bytes.len());
        line_start = range.end + 1;
        for d in parse_line(&bytes[range], line) {
            let target = if d.form.next_line() { line + 1 } else { line };
            if !used.contains(&target) {
                out.push(d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    #[test]
    fn dates_parse_and_count_days() {
        assert_eq!(date("2024-02-29").to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-32",
            "tomorrow",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(Date::from_days(0), date("1970-01-01"));
        assert_eq!(Date::from_days(19_782), date("2024-02-29"));
        assert_eq!(Date::from_days(-1), date("1969-12-31"));
        assert!(date("2024-12-31") < date("2025-01-01"));
    }

    #[test]
    fn forms_are_recognised() {
        let cases: &[(&str, Option<Form>)] = &[
            ("x = 1 # keyward:allow", Some(Form::KeywardAllow)),
            (
                "// keyward:allow-next-line",
                Some(Form::KeywardAllowNextLine),
            ),
            ("x = 1 // gitleaks:allow", Some(Form::GitleaksAllow)),
            (
                "x = 1  # pragma: allowlist secret",
                Some(Form::PragmaAllowlist),
            ),
            (
                "x = 1  # Pragma:AllowList-Secret",
                Some(Form::PragmaAllowlist),
            ),
            (
                "# pragma: allowlist nextline secret",
                Some(Form::PragmaAllowlistNextLine),
            ),
            ("x = 1 # keyward:allowed", None),
            ("x = 1 # keyward:allow_all", None),
            ("x = 1 # pragma: allowlist secrets", None),
            ("x = 1 # allow this", None),
        ];
        for (text, want) in cases {
            let got = parse_line(text.as_bytes(), 1).first().map(|d| d.form);
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn reason_and_until_in_any_order() {
        let d = &parse_line(
            br#"t = "x"  # keyward:allow until=2030-01-31 reason="fixture, not live""#,
            3,
        )[0];
        assert_eq!(d.reason.as_deref(), Some("fixture, not live"));
        assert_eq!(d.until, Some(date("2030-01-31")));
        assert_eq!(d.line, 3);
        let d = &parse_line(b"/* keyward:allow reason='doc' until=2030-01-31 */", 1)[0];
        assert_eq!(d.reason.as_deref(), Some("doc"));
        assert_eq!(d.until, Some(date("2030-01-31")));
        let d = &parse_line(b"<!-- keyward:allow until=2030-01-31-->", 1)[0];
        assert_eq!(d.until, Some(date("2030-01-31")));
        let d = &parse_line(b"# keyward:allow until=someday", 1)[0];
        assert_eq!(d.invalid_until.as_deref(), Some("someday"));
        assert_eq!(
            d.state(date("2000-01-01")),
            State::Invalid("someday".into())
        );
    }

    #[test]
    fn expiry_is_inclusive_of_the_until_day() {
        let d = &parse_line(b"# keyward:allow until=2030-06-15", 1)[0];
        assert_eq!(d.state(date("2030-06-15")), State::Active);
        assert_eq!(
            d.state(date("2030-06-16")),
            State::Expired(date("2030-06-15"))
        );
    }

    #[test]
    fn same_line_or_line_above_for_next_line_forms() {
        let today = date("2026-01-01");
        let text = b"a\n# keyward:allow-next-line\nsecret\n# keyward:allow\nsecret2\n";
        let pos = |needle: &str| memmem::find(text, needle.as_bytes()).expect("in text");
        let d = directive_for(text, pos("secret\n"), 3, today).expect("next-line form");
        assert_eq!((d.form, d.line), (Form::KeywardAllowNextLine, 2));
        // A same-line form on the line above does not reach down.
        assert_eq!(directive_for(text, pos("secret2"), 5, today), None);
        assert_eq!(directive_for(b"secret\n", 0, 1, today), None);
    }

    #[test]
    fn an_active_directive_wins_over_an_expired_one() {
        let text = b"# keyward:allow-next-line until=2020-01-01\ns # keyward:allow\n";
        let d = directive_for(text, 43, 2, date("2026-01-01")).expect("directive");
        assert_eq!(d.form, Form::KeywardAllow);
    }

    #[test]
    fn unused_directives_are_those_whose_target_line_has_no_finding() {
        let text =
            b"x # keyward:allow\n# keyward:allow-next-line\ny\nz # gitleaks:allow\nallowed\n";
        let unused: Vec<(usize, Form)> = unused(text, &[3])
            .iter()
            .map(|d| (d.line, d.form))
            .collect();
        assert_eq!(
            unused,
            vec![(1, Form::KeywardAllow), (4, Form::GitleaksAllow)]
        );
    }

    #[test]
    fn line_starts() {
        let text = b"one\ntwo\nthree";
        assert_eq!(line_start(text, 1), Some(0));
        assert_eq!(line_start(text, 3), Some(8));
        assert_eq!(line_start(text, 4), None);
        assert_eq!(line_around(text, 5), 4..7);
    }
}
