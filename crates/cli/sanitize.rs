//! Untrusted text (paths, secrets, lines of files) is stripped of terminal control characters
//! and of Unicode bidirectional controls before it is printed, so a file can neither drive the
//! terminal of whoever reads the report nor reorder what the report shows.

/// Replaces control characters (escape sequences included) and bidirectional formatting
/// characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) with `?`.
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || is_bidi(c) { '?' } else { c })
        .collect()
}

/// A character that changes the display order of the text around it.
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_escapes_and_newlines() {
        assert_eq!(super::for_terminal("a\x1b[31mb\nc\u{9b}d"), "a?[31mb?c?d");
    }

    #[test]
    fn strips_bidirectional_overrides_and_keeps_other_text() {
        assert_eq!(
            super::for_terminal("key\u{202E}terces\u{202C} = \u{2067}x\u{2069}"),
            "key?terces? = ?x?"
        );
        assert_eq!(super::for_terminal("clé → 秘密"), "clé → 秘密");
    }
}
