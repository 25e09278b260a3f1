//! Text from outside that people read (client names, token labels): control
//! and bidirectional-formatting characters let a name hide or reorder what
//! a consent page or a listing shows ("Trojan Source"), so they go.

/// The Unicode bidi formatting characters: embeddings, overrides, isolates
/// and the implicit marks.
pub fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` without control and bidi characters, trimmed.
pub fn sanitise(s: &str) -> String {
    s.chars()
        .filter(|&c| !c.is_control() && !is_bidi(c))
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_dropped() {
        assert_eq!(sanitise("Good\u{202E}txt.exe\u{7}\n"), "Goodtxt.exe");
        assert_eq!(sanitise("  Café \u{2066}app\u{2069} "), "Café app");
        assert!(is_bidi('\u{200F}') && !is_bidi('a'));
    }
}
