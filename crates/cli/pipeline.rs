//! The per-blob pipeline shared by every source (files, stdin, git blobs): match, then apply
//! what depends on the path, then turn findings into report records.

use keyward_core::{Matcher, Scratch};

use crate::report::Record;

/// How many leading bytes are inspected for a NUL to call content binary.
pub const BINARY_PROBE: usize = 8192;

/// Is this content binary (a NUL byte in the first 8 KiB)?
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some()
}

/// Matches `bytes` found at `path` and returns the records to report.
pub fn scan_blob(
    matcher: &Matcher,
    scratch: &mut Scratch,
    path: &str,
    bytes: &[u8],
) -> Vec<Record> {
    let findings = matcher.scan(bytes, scratch);
    if findings.is_empty() {
        return Vec::new();
    }
    let filters = matcher.rule_set().filters();
    let lock_file = filters.is_lock_file(path);
    let spans: Vec<std::ops::Range<usize>> = findings.iter().map(|f| f.span.clone()).collect();
    findings
        .into_iter()
        .filter(|f| !(lock_file && matcher.rules()[f.rule].spec.generic))
        .map(|f| {
            let mut r = Record::new(
                &matcher.rules()[f.rule],
                path.to_string(),
                f.line,
                f.column,
                f.secret,
            );
            r.encoding = f.encoding;
            crate::annotate::from_blob(&mut r, bytes, f.span, &spans);
            r
        })
        .collect()
}
