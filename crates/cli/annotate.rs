//! What a record learns from the bytes around its secret: the line, for the text report, and
//! an inline directive on it or above it.
//!
//! For files the bytes are at hand when the record is made ([`from_blob`], called by the
//! pipeline). History records come from keyward-git, which keeps no blob bytes; for those the
//! few blobs with findings are read again from the object database ([`history`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

use keyward_core::{Matcher, Scratch};
use keyward_git::Repository;

use crate::report::Record;
use crate::report::snippet::Snippet;
use crate::suppress::{self, Date};

/// Today, fixed once per run so that every finding is judged by the same date.
pub fn today() -> Date {
    static TODAY: OnceLock<Date> = OnceLock::new();
    *TODAY.get_or_init(Date::today)
}

/// Fills in the record's line and inline directive from the content it was found in:
/// `span` is its secret, `secrets` every secret found in `bytes`.
pub fn from_blob(record: &mut Record, bytes: &[u8], span: Range<usize>, secrets: &[Range<usize>]) {
    record.snippet = Some(Box::new(Snippet::build(
        bytes,
        record.line,
        span.clone(),
        secrets,
    )));
    record.directive =
        suppress::directive_for(bytes, span.start, record.line, today()).map(Box::new);
    let line = suppress::line_around(bytes, span.start);
    record.line_text = Some(bytes[line].into());
}

/// Where the secret of `record` starts in `bytes`: at its line and column, or failing that
/// the first place on that line that holds it.
fn locate(bytes: &[u8], record: &Record) -> Option<Range<usize>> {
    let start = suppress::line_start(bytes, record.line)?;
    let line = suppress::line_around(bytes, start);
    let text = &bytes[line.clone()];
    let secret = record.secret.expose().as_bytes();
    let by_column = char_starts(text)
        .nth(record.column.saturating_sub(1))
        .filter(|&i| text[i..].starts_with(secret));
    let at = by_column.or_else(|| memchr::memmem::find(text, secret))?;
    Some(line.start + at..line.start + at + secret.len())
}

/// Byte offsets of the characters of possibly invalid UTF-8 text (a byte that does not
/// continue a character starts one, as the matcher counts columns).
fn char_starts(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    text.iter()
        .enumerate()
        .filter(|(_, b)| (**b & 0xC0) != 0x80)
        .map(|(i, _)| i)
}

/// Annotates history records from their blobs, read from the repository at `git_dir` one
/// at a time (memory holds one blob, not every blob with findings). The other secrets on
/// each line are found again with `matcher`, so they are redacted too. Returns a note when
/// the blobs could not be read: those records then keep no line and no directive, so
/// nothing is silenced by mistake.
pub fn history(repo: &Repository, matcher: &Matcher, records: &mut [Record]) -> Option<String> {
    let mut by_blob: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(g) = r.git.as_deref().filter(|g| !g.blob.is_empty()) {
            by_blob.entry(g.blob.clone()).or_default().push(i);
        }
    }
    if by_blob.is_empty() {
        return None;
    }
    let mut scratch = Scratch::new();
    let ids: Vec<&str> = by_blob.keys().map(String::as_str).collect();
    let read = repo.read_blobs(&ids, |id, bytes| {
        for &i in by_blob.get(id).map_or(&[][..], Vec::as_slice) {
            annotate_one(&mut records[i], bytes, matcher, &mut scratch);
        }
    });
    read.err().map(|e| {
        format!("cannot read blobs with findings ({e}): inline directives were not checked")
    })
}

fn annotate_one(r: &mut Record, bytes: &[u8], matcher: &Matcher, scratch: &mut Scratch) {
    let Some(span) = locate(bytes, r) else {
        return;
    };
    let line = suppress::line_around(bytes, span.start);
    let secrets: Vec<Range<usize>> = matcher
        .scan(&bytes[line.clone()], scratch)
        .into_iter()
        .map(|f| line.start + f.span.start..line.start + f.span.end)
        .collect();
    from_blob(r, bytes, span, &secrets);
}
