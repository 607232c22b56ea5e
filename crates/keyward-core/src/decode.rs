//! Decoders: secrets hidden in base64, percent-encoding, string escapes or XML entities.
//!
//! Decoding is triggered, not exhaustive: a pass over every byte looking for base64 runs costs
//! as much as the keyword automaton itself, so the prefilter finds the places where encoded
//! values live (keywords in `patterns/decoders.yaml`: `data:`, `auth`, `%3A`, `\u00`, `&amp;`…)
//! and only windows around those hits are searched for encoded regions. Each region is decoded,
//! and the decoded text is matched again (up to a depth limit, with a cap on decoded bytes so
//! memory stays flat); a finding in it is reported at the encoded region's place.

use serde::{Deserialize, Serialize};

use crate::rule::Window;

/// How a secret was encoded where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Base64, standard or URL-safe alphabet, padded or not.
    Base64,
    /// Percent-encoding (`%2F`).
    Percent,
    /// String escapes (`\u002F`, `\/`, `\x2f`, `\n`).
    Escapes,
    /// XML/HTML character references (`&amp;`, `&#x2F;`).
    XmlEntities,
}

impl Encoding {
    /// The name used in YAML and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::Escapes => "escapes",
            Encoding::XmlEntities => "xml-entities",
        }
    }

    /// Every encoding, in the order they are tried.
    pub const ALL: [Encoding; 4] = [
        Encoding::Base64,
        Encoding::Percent,
        Encoding::Escapes,
        Encoding::XmlEntities,
    ];
}

/// The deepest decoding a pattern file can ask for: each level recurses once, and text such as
/// `%252525…` peels one level per two bytes, so an unbounded depth from a user's rule file
/// could exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 8;

/// The `decoders:` section of a pattern file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodersSpec {
    /// How many encodings deep to decode (default 2).
    #[serde(default)]
    pub max_depth: Option<usize>,
    /// At most this many decoded bytes per scanned input (default 1 MiB).
    #[serde(default)]
    pub max_decoded_bytes: Option<usize>,
    /// The decoders and where to look for their encodings.
    #[serde(default)]
    pub triggers: Vec<DecoderTrigger>,
}

/// Where one encoding is looked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecoderTrigger {
    /// The encoding.
    pub encoding: Encoding,
    /// Keywords near which encoded values are looked for (ASCII case-insensitive).
    pub keywords: Vec<String>,
    /// How far around a keyword hit.
    pub window: Window,
    /// The shortest encoded region worth decoding.
    #[serde(default)]
    pub min_length: Option<usize>,
}

impl DecodersSpec {
    pub(crate) fn extend(&mut self, other: DecodersSpec) {
        if other.max_depth.is_some() {
            self.max_depth = other.max_depth;
        }
        if other.max_decoded_bytes.is_some() {
            self.max_decoded_bytes = other.max_decoded_bytes;
        }
        self.triggers.extend(other.triggers);
    }

    /// The depth limit (at most 8, whatever a pattern file asks for).
    pub fn depth(&self) -> usize {
        self.max_depth.unwrap_or(2).min(MAX_DEPTH)
    }

    /// The decoded-bytes limit.
    pub fn budget(&self) -> usize {
        self.max_decoded_bytes.unwrap_or(1 << 20)
    }
}

/// One encoded region found in a window, and its decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub start: usize,
    pub end: usize,
    pub bytes: Vec<u8>,
}

/// Every byte decoding windows can look at, window by window: a base64 run or a token that
/// starts before its window or ends after it is taken whole (see [`decode_window`]), and
/// what ends it is the byte just outside. Each extent is a superset of every region its
/// window can decode, for callers that must know which edits could change it. Windows asked
/// for in order of position cost one pass over the input between them; others are scanned
/// afresh.
#[derive(Debug, Clone)]
pub struct Extents {
    encoding: Encoding,
    /// The last backward scan: it went from `.1` back to `.0`.
    back: Option<(usize, usize)>,
    /// The last forward scan: it went from `.0` on to `.1`.
    ahead: Option<(usize, usize)>,
}

impl Extents {
    /// Extents of windows of one `encoding`.
    pub fn new(encoding: Encoding) -> Extents {
        Extents {
            encoding,
            back: None,
            ahead: None,
        }
    }

    /// Whether a run or token of this encoding cannot go on past byte `b` (looking back).
    fn stops_back(&self, b: u8) -> bool {
        match self.encoding {
            Encoding::Base64 => !BASE64[b as usize],
            Encoding::Percent | Encoding::XmlEntities => token_stop(b),
            // A string is found back to its line's start, and which of its backslashes
            // pair up depends on where decoding starts: the whole line counts (an earlier
            // window's string can run into it, handing its end on).
            Encoding::Escapes => b == b'\n',
        }
    }

    /// Whether a run or token cannot go on past `hay[at]` (looking ahead).
    fn stops_ahead(&self, hay: &[u8], at: usize) -> bool {
        match self.encoding {
            Encoding::Base64 => !BASE64[hay[at] as usize],
            Encoding::Percent | Encoding::XmlEntities => token_stop(hay[at]),
            // A string runs on past a quote or a line break after a backslash.
            Encoding::Escapes => hay[at] == b'\n' && (at == 0 || hay[at - 1] != b'\\'),
        }
    }

    /// The bytes decoding `hay[window]` can look at.
    pub fn of(&mut self, hay: &[u8], window: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let len = hay.len();
        let (from, to) = (window.start.min(len), window.end.min(len));
        // Back: from the last scan's end when this window starts at or after it.
        let start = match self.back {
            Some((s, p)) if s <= from && p <= from => {
                match (p..from).rev().find(|&i| self.stops_back(hay[i])) {
                    Some(i) => i + 1,
                    None => s,
                }
            }
            _ => {
                let mut s = from;
                while s > 0 && !self.stops_back(hay[s - 1]) {
                    s -= 1;
                }
                s
            }
        };
        self.back = Some((start, from));
        // Ahead: the last scan's end when this window ends inside what it crossed.
        let mut end = match self.ahead {
            Some((e, stop)) if e <= to && to <= stop => stop,
            _ => {
                let mut e = to;
                while e < len && !self.stops_ahead(hay, e) {
                    e += 1;
                }
                e
            }
        };
        self.ahead = Some((to, end));
        if self.encoding == Encoding::Base64 {
            // Up to two `=` of padding after a run.
            let mut pad = 0;
            while end < len && pad < 2 && hay[end] == b'=' {
                end += 1;
                pad += 1;
            }
        }
        start..end
    }
}

/// A byte that ends a percent-encoded or entity token.
fn token_stop(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')')
}

/// A byte that ends a string holding escapes.
fn string_stop(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'\n')
}

/// Finds and decodes the regions of `encoding` inside `hay[window]`.
///
/// `done` is how far `hay` has already been searched for this encoding: windows are given in
/// order, and a region that reaches past its window (a base64 run or a token is taken whole)
/// was taken by the first window that touched it. Without it a 50 MB run touched by a
/// thousand windows was decoded a thousand times.
pub(crate) fn decode_window(
    encoding: Encoding,
    hay: &[u8],
    window: std::ops::Range<usize>,
    min_length: usize,
    done: &mut usize,
    out: &mut Vec<Decoded>,
) {
    match encoding {
        Encoding::Base64 => base64_regions(hay, window, min_length, done, out),
        Encoding::Percent => {
            token_regions(hay, window, min_length, done, b'%', percent_decode, out)
        }
        Encoding::Escapes => token_regions(hay, window, min_length, done, b'\\', unescape, out),
        Encoding::XmlEntities => token_regions(hay, window, min_length, done, b'&', unentity, out),
    }
}

/// The base64 alphabet, standard and URL-safe.
static BASE64: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
        i += 1;
    }
    t
};

fn base64_regions(
    hay: &[u8],
    window: std::ops::Range<usize>,
    min: usize,
    done: &mut usize,
    out: &mut Vec<Decoded>,
) {
    let b64 = |i: usize| BASE64[hay[i] as usize];
    let end = window.end.min(hay.len());
    // Start at a run boundary: a run that began before the window is taken whole, unless an
    // earlier window took it.
    let mut i = window.start.max(*done);
    while i > *done && b64(i - 1) {
        i -= 1;
    }
    while i < end {
        // Only a run of at least `min` bytes is decoded, and one that starts in
        // `i..i + min` covers `i + min - 1`: when that byte is not base64, or when another
        // byte before it is not, no run long enough starts before it. Most of source text is
        // skipped this way without looking at every byte.
        let probe = i + min.max(1) - 1;
        if probe < hay.len() {
            if !b64(probe) {
                i = probe + 1;
                continue;
            }
            if let Some(k) = (i..probe).rev().find(|&k| !b64(k)) {
                i = k + 1;
                continue;
            }
        } else if !b64(i) {
            i += 1;
            continue;
        }
        i = take_run(hay, i, min, out);
    }
    *done = (*done).max(i);
}

/// Takes the base64 run that starts at `s` (and up to two `=` of padding after it): decoded
/// into `out` when it is at least `min` long and decodes to text. Returns where it ends.
fn take_run(hay: &[u8], s: usize, min: usize, out: &mut Vec<Decoded>) -> usize {
    let mut i = s;
    while i < hay.len() && BASE64[hay[i] as usize] {
        i += 1;
    }
    let mut e = i;
    while e < hay.len() && e - i < 2 && hay[e] == b'=' {
        e += 1;
    }
    if i - s >= min
        && base64_is_text(&hay[s..i])
        && let Some(bytes) = base64_decode(&hay[s..i])
    {
        out.push(Decoded {
            start: s,
            end: e,
            bytes,
        });
    }
    e.max(i)
}

/// The value of each base64 character (standard and URL-safe); 0xff for any other byte.
static BASE64_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => 0xff,
        };
        i += 1;
    }
    t
};

/// Calls `f` with the bytes each group of up to four base64 characters decodes to (padding
/// stripped first); false on a bad character or length, or as soon as `f` returns false.
fn base64_groups(s: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> bool {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    if s.len() % 4 == 1 {
        return false;
    }
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = BASE64_VALUE[c as usize];
            if v == 0xff {
                return false;
            }
            n |= u32::from(v) << (18 - 6 * i);
        }
        if !f(&n.to_be_bytes()[1..chunk.len()]) {
            return false;
        }
    }
    true
}

/// Decodes base64 (standard or URL-safe, padding optional); `None` on a bad length.
pub(crate) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    base64_groups(s, |bytes| {
        out.extend_from_slice(bytes);
        true
    })
    .then_some(out)
}

/// Whether `s` decodes as [`base64_decode`] does to what [`looks_like_text`] accepts;
/// decides without keeping the bytes, mostly within the first few groups.
fn base64_is_text(s: &[u8]) -> bool {
    let (mut len, mut high) = (0usize, 0usize);
    base64_groups(s, |bytes| {
        len += bytes.len();
        bytes.iter().all(|&b| {
            high += usize::from(b >= 0x80);
            text_byte(b)
        })
    }) && len >= 6
        && high * 10 <= len
}

/// Not a control byte other than tab and line breaks.
fn text_byte(b: u8) -> bool {
    !(b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t') || b == 0x7f)
}

/// Printable text: no NULs or other control bytes but tab and line breaks, mostly ASCII.
#[cfg(test)]
fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.len() < 6 {
        return false;
    }
    let mut high = 0;
    for &b in bytes {
        if !text_byte(b) {
            return false;
        }
        if b >= 0x80 {
            high += 1;
        }
    }
    high * 10 <= bytes.len()
}

/// Regions around occurrences of `marker` that `decode` changes: the surrounding token, cut
/// at whitespace, quotes and angle brackets.
fn token_regions(
    hay: &[u8],
    window: std::ops::Range<usize>,
    min: usize,
    done: &mut usize,
    marker: u8,
    decode: fn(&[u8]) -> Option<Vec<u8>>,
    out: &mut Vec<Decoded>,
) {
    let end = window.end.min(hay.len());
    let stop = token_stop;
    // Markers inside a token an earlier window took are not looked at again.
    let mut i = window.start.max(*done).min(end);
    while let Some(off) = memchr::memchr(marker, &hay[i..end]) {
        let at = i + off;
        let mut s = at;
        while s > 0 && !stop(hay[s - 1]) {
            s -= 1;
        }
        let mut e = at;
        while e < hay.len() && !stop(hay[e]) {
            e += 1;
        }
        // Escapes may sit inside a quoted string with spaces: take the string.
        if marker == b'\\' {
            let quoted = string_stop;
            s = at;
            while s > 0 && !quoted(hay[s - 1]) {
                s -= 1;
            }
            e = at;
            while e < hay.len() && !quoted(hay[e]) {
                e += if hay[e] == b'\\' { 2 } else { 1 };
            }
            e = e.min(hay.len());
        }
        if e - s >= min
            && let Some(bytes) = decode(&hay[s..e])
            && bytes != hay[s..e]
        {
            out.push(Decoded {
                start: s,
                end: e,
                bytes,
            });
        }
        i = e.max(at + 1);
        if i >= end {
            break;
        }
    }
    *done = (*done).max(i);
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `%XX` → byte; `None` when there is no valid escape.
pub(crate) fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut any = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|&c| hex(c)),
                s.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            out.push(h << 4 | l);
            any = true;
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    any.then_some(out)
}

/// JSON/JS string escapes → bytes (`\n` becomes a line break, `\uXXXX` UTF-8).
pub(crate) fn unescape(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut any = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        let simple = match c {
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'/' | b'\\' | b'"' | b'\'' => Some(c),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            any = true;
            continue;
        }
        let (digits, len) = match c {
            b'u' => (4, 6),
            b'x' => (2, 4),
            _ => (0, 0),
        };
        let code = (digits > 0)
            .then(|| s.get(i + 2..i + 2 + digits))
            .flatten()
            .and_then(|h| u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
            .and_then(char::from_u32);
        match code {
            Some(ch) => {
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += len;
                any = true;
            }
            None => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    any.then_some(out)
}

/// XML/HTML character references → bytes.
pub(crate) fn unentity(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut any = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'&'
            && let Some(semi) = s[i..].iter().take(12).position(|&b| b == b';')
        {
            let name = &s[i + 1..i + semi];
            let decoded = match name {
                b"amp" => Some('&'),
                b"lt" => Some('<'),
                b"gt" => Some('>'),
                b"quot" => Some('"'),
                b"apos" => Some('\''),
                _ => name.strip_prefix(b"#").and_then(|n| {
                    let (digits, radix) = match n.first() {
                        Some(b'x' | b'X') => (&n[1..], 16),
                        _ => (n, 10),
                    };
                    u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix)
                        .ok()
                        .and_then(char::from_u32)
                }),
            };
            if let Some(ch) = decoded {
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += semi + 1;
                any = true;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{base64, lcg};

    fn regions(encoding: Encoding, hay: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        decode_window(encoding, hay.as_bytes(), 0..hay.len(), 8, &mut 0, &mut out);
        out.into_iter()
            .map(|d| {
                (
                    hay[d.start..d.end].to_string(),
                    String::from_utf8_lossy(&d.bytes).into_owned(),
                )
            })
            .collect()
    }

    /// The byte-by-byte search for run starts that `base64_regions` must agree with.
    fn base64_reference(
        hay: &[u8],
        window: std::ops::Range<usize>,
        min: usize,
        done: &mut usize,
        out: &mut Vec<Decoded>,
    ) {
        let end = window.end.min(hay.len());
        let mut i = window.start.max(*done);
        while i > *done && BASE64[hay[i - 1] as usize] {
            i -= 1;
        }
        while i < end {
            if !BASE64[hay[i] as usize] {
                i += 1;
                continue;
            }
            i = take_run(hay, i, min, out);
        }
        *done = (*done).max(i);
    }

    /// Random text of base64 runs of every length, padding, and separators, cut into random
    /// ordered windows: the skipping search finds exactly the regions of the byte-by-byte one.
    #[test]
    fn base64_skipping_agrees_with_byte_by_byte() {
        let mut seed = 11u64;
        let mut next = move |n: usize| lcg(&mut seed) % n;
        // Runs that decode to text, runs that do not, and short ones.
        let pieces: [&[u8]; 8] = [
            b"cG9zdGdyZXM6Ly91OnBAaDo1NDMyL2Q=",
            b"aGVsbG8gd29ybGQ",
            b"dXNlcjpwYXNzd29yZA==",
            b"tokenValue",
            b"x",
            b"someVeryLongIdentifierName",
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo",
            b"=",
        ];
        let seps: [&[u8]; 5] = [b" ", b"\n", b".", b"=", b"\"\""];
        for round in 0..300 {
            let mut hay = Vec::new();
            while hay.len() < 40 + round * 3 {
                hay.extend_from_slice(pieces[next(pieces.len())]);
                if next(3) > 0 {
                    hay.extend_from_slice(seps[next(seps.len())]);
                }
            }
            let min = [1, 2, 8, 12, 16, 24][next(6)];
            let mut windows = Vec::new();
            let mut at = next(8);
            while at < hay.len() {
                let len = 1 + next(50);
                windows.push(at..(at + len).min(hay.len()));
                at += len + next(30);
            }
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            let (mut done_fast, mut done_slow) = (0, 0);
            for w in &windows {
                base64_regions(&hay, w.clone(), min, &mut done_fast, &mut fast);
                base64_reference(&hay, w.clone(), min, &mut done_slow, &mut slow);
            }
            assert_eq!(
                fast,
                slow,
                "min {min}, windows {windows:?} over {:?}",
                String::from_utf8_lossy(&hay)
            );
        }
    }

    #[test]
    fn extents_hold_every_decoded_region_and_ordered_windows_agree_with_fresh_scans() {
        let mut x = 5u64;
        let mut next = |n: usize| lcg(&mut x) % n;
        let alphabet = b"aZ09+/=_-%2F%41&amp;#x\\u00\\x2 \"'\n";
        for round in 0..400 {
            let encoding = [
                Encoding::Base64,
                Encoding::Percent,
                Encoding::Escapes,
                Encoding::XmlEntities,
            ][round % 4];
            let len = 1 + next(400);
            let hay: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let mut ordered = Extents::new(encoding);
            let mut at = next(20);
            while at < len {
                let window = at..(at + 1 + next(40)).min(len);
                let ext = ordered.of(&hay, window.clone());
                assert_eq!(
                    ext,
                    Extents::new(encoding).of(&hay, window.clone()),
                    "{window:?}"
                );
                assert!(ext.start <= window.start && window.end <= ext.end);
                let mut out = Vec::new();
                decode_window(encoding, &hay, window.clone(), 4, &mut 0, &mut out);
                for d in &out {
                    assert!(
                        ext.start <= d.start && d.end <= ext.end,
                        "{encoding:?} {window:?} {ext:?} {}..{} in {:?}",
                        d.start,
                        d.end,
                        String::from_utf8_lossy(&hay)
                    );
                }
                at = window.end + next(60);
            }
        }
    }

    #[test]
    fn base64_is_text_agrees_with_decoding_then_checking() {
        let mut x = 11u64;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=.";
        for _ in 0..20_000 {
            let len = lcg(&mut x) % 40;
            let mut s = Vec::with_capacity(len);
            for _ in 0..len {
                s.push(alphabet[lcg(&mut x) % alphabet.len()]);
            }
            // Mostly noise; a third of the time base64 of printable bytes.
            if lcg(&mut x).is_multiple_of(3) {
                let text: Vec<u8> = (0..len).map(|_| b' ' + (lcg(&mut x) % 95) as u8).collect();
                s = base64(&text, false).into_bytes();
            }
            let reference = base64_decode(&s).is_some_and(|b| looks_like_text(&b));
            assert_eq!(
                base64_is_text(&s),
                reference,
                "{}",
                String::from_utf8_lossy(&s)
            );
        }
    }

    #[test]
    fn base64_both_alphabets_and_padding() {
        assert_eq!(
            base64_decode(b"aGVsbG8gd29ybGQ=").as_deref(),
            Some(b"hello world".as_slice())
        );
        assert_eq!(
            base64_decode(b"aGVsbG8gd29ybGQ").as_deref(),
            Some(b"hello world".as_slice())
        );
        assert_eq!(
            base64_decode(b"Pz8_Pz8-").as_deref(),
            Some(b"???\x3f?>".as_slice())
        );
        assert_eq!(base64_decode(b"abcde"), None);
        let found = regions(
            Encoding::Base64,
            "DATABASE_URL: cG9zdGdyZXM6Ly91OnBAaDo1NDMyL2Q=\n",
        );
        assert_eq!(
            found,
            [(
                "cG9zdGdyZXM6Ly91OnBAaDo1NDMyL2Q=".into(),
                "postgres://u:p@h:5432/d".into()
            )]
        );
    }

    #[test]
    fn base64_of_binary_or_identifiers_is_not_text() {
        // A sha512 integrity hash decodes to binary.
        assert!(regions(Encoding::Base64, "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==").is_empty());
        assert!(regions(Encoding::Base64, "someVeryLongIdentifierName").is_empty());
    }

    #[test]
    fn percent_escapes_and_entities() {
        assert_eq!(
            regions(
                Encoding::Percent,
                "url=https%3A%2F%2Fhooks.example.com%2Fx&y"
            ),
            [(
                "url=https%3A%2F%2Fhooks.example.com%2Fx&y".into(),
                "url=https://hooks.example.com/x&y".into()
            )]
        );
        assert_eq!(
            regions(
                Encoding::Escapes,
                r#""key": "-----BEGIN\nMII\u002Fabc\/def""#
            ),
            [(
                r#"-----BEGIN\nMII\u002Fabc\/def"#.into(),
                "-----BEGIN\nMII/abc/def".into()
            )]
        );
        assert_eq!(
            regions(
                Encoding::XmlEntities,
                "<add value=\"Server=x;Password=a&amp;b&#x21;c\"/>"
            ),
            [(
                "Server=x;Password=a&amp;b&#x21;c".into(),
                "Server=x;Password=a&b!c".into()
            )]
        );
        assert_eq!(percent_decode(b"no escapes"), None);
        assert_eq!(unescape(b"plain"), None);
        assert_eq!(unentity(b"a & b"), None);
    }

    #[test]
    fn malformed_input_never_panics() {
        for s in [
            "%",
            "%z",
            "%4",
            "\\",
            "\\u12",
            "\\x",
            "&",
            "&#;",
            "&#xZZ;",
            "&#99999999999;",
            "=",
            "==",
            "A=",
        ] {
            let _ = percent_decode(s.as_bytes());
            let _ = unescape(s.as_bytes());
            let _ = unentity(s.as_bytes());
            let _ = base64_decode(s.as_bytes());
            for e in Encoding::ALL {
                let mut out = Vec::new();
                decode_window(e, s.as_bytes(), 0..s.len(), 1, &mut 0, &mut out);
            }
        }
    }
}
