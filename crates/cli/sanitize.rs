//! Untrusted text (paths, secrets, lines of files) is stripped of terminal control characters
//! before it is printed, so a file cannot drive the terminal of whoever reads the report.

/// Replaces control characters (escape sequences included) with `?`.
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_escapes_and_newlines() {
        assert_eq!(super::for_terminal("a\x1b[31mb\nc\u{9b}d"), "a?[31mb?c?d");
    }
}
