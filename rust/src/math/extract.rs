//! Finding the final answer in a completion.
//!
//! Strategies are tried in a configurable order (default: [`DEFAULT_ORDER`]); each looks for
//! its *last* occurrence, since reasoning traces often box or state intermediate results before
//! the final one. Every scan is linear in the completion, so a megabyte completion is cheap.

/// One way of marking the final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The last `\boxed{...}` or `\fbox{...}`, with nested braces matched.
    Boxed,
    /// "The final answer is X" (the CGPO paper's required format), case-insensitive.
    FinalAnswer,
    /// GSM8K's "#### X".
    Hashes,
    /// "Answer: X", case-insensitive.
    AnswerColon,
}

pub const DEFAULT_ORDER: [Strategy; 4] = [
    Strategy::Boxed,
    Strategy::FinalAnswer,
    Strategy::Hashes,
    Strategy::AnswerColon,
];

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Boxed => "boxed",
            Strategy::FinalAnswer => "final_answer",
            Strategy::Hashes => "hashes",
            Strategy::AnswerColon => "answer_colon",
        }
    }

    pub fn from_name(name: &str) -> Option<Strategy> {
        [
            Strategy::Boxed,
            Strategy::FinalAnswer,
            Strategy::Hashes,
            Strategy::AnswerColon,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// The final answer of `text` by the first strategy in `order` that finds a non-empty one.
pub fn extract(text: &str, order: &[Strategy]) -> Option<(Strategy, String)> {
    for &s in order {
        let found = match s {
            Strategy::Boxed => last_boxed(text),
            Strategy::FinalAnswer => after_marker(text, "the final answer is"),
            Strategy::Hashes => after_marker(text, "####"),
            Strategy::AnswerColon => after_marker(text, "answer:"),
        };
        if let Some(a) = found {
            let a = a.trim();
            if !a.is_empty() {
                return Some((s, a.to_string()));
            }
        }
    }
    None
}

/// Content of the last `\boxed{...}` / `\fbox{...}` whose braces balance.
pub fn last_boxed(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut starts: Vec<(usize, usize)> = Vec::new();
    for cmd in ["\\boxed", "\\fbox"] {
        starts.extend(text.match_indices(cmd).map(|(i, m)| (i, i + m.len())));
    }
    starts.sort_unstable();
    // Only the last few: each try scans to the end, and a hostile text may hold thousands of
    // unclosed boxes.
    for &(_, after) in starts.iter().rev().take(16) {
        let mut j = after;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'{' {
            if let Some(end) = matching_brace(bytes, j) {
                return Some(&text[j + 1..end]);
            }
        }
    }
    None
}

/// Index of the `}` that closes the `{` at `open` (escaped `\{`/`\}` do not count).
pub fn matching_brace(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut k = open;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

/// Last case-insensitive (ASCII) occurrence of `needle` in `hay`.
fn rfind_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len())
        .rev()
        .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// What follows the last `marker` on its line, without decoration: a leading `:`/`*`, a
/// `$...$` wrapper, a trailing "I hope it is correct." and final punctuation.
fn after_marker<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = rfind_ci(text, marker)? + marker.len();
    let rest = &text[start..];
    let line = rest.split('\n').next().unwrap_or("");
    let mut s = line.trim_start_matches(|c: char| c == ':' || c == '*' || c.is_whitespace());
    if let Some(inner) = s.strip_prefix("$$") {
        s = inner.split("$$").next().unwrap_or(inner);
    } else if let Some(inner) = s.strip_prefix('$') {
        s = inner.split('$').next().unwrap_or(inner);
    } else if let Some(k) = rfind_ci(s, "i hope it is correct") {
        s = &s[..k];
    }
    let s = s.trim().trim_end_matches(['.', '*']).trim();
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: &str) -> Option<String> {
        extract(t, &DEFAULT_ORDER).map(|(_, a)| a)
    }

    #[test]
    fn last_boxed_with_nested_braces() {
        assert_eq!(
            ex(r"first \boxed{1} then \boxed{\frac{1}{2}} done").as_deref(),
            Some(r"\frac{1}{2}")
        );
        assert_eq!(ex(r"\fbox{ 7 }").as_deref(), Some("7"));
        // An unbalanced last box falls back to the previous balanced one.
        assert_eq!(ex(r"\boxed{3} and \boxed{4").as_deref(), Some("3"));
        assert_eq!(ex(r"\boxed{\{1,2\}}").as_deref(), Some(r"\{1,2\}"));
    }

    #[test]
    fn markers_in_order() {
        assert_eq!(
            ex("so The final answer is $42$. I hope it is correct.").as_deref(),
            Some("42")
        );
        assert_eq!(ex("The final answer is 3.\nmore").as_deref(), Some("3"));
        assert_eq!(ex("blah\n#### 1,000\n").as_deref(), Some("1,000"));
        assert_eq!(ex("**Answer:** 12").as_deref(), Some("12"));
        assert_eq!(ex(r"Answer: 5 and \boxed{6}").as_deref(), Some("6"));
        assert_eq!(ex("nothing here"), None);
        assert_eq!(ex(r"\boxed{}"), None);
        let only_hashes = [Strategy::Hashes];
        assert_eq!(
            extract(r"\boxed{1} #### 2", &only_hashes)
                .map(|x| x.1)
                .as_deref(),
            Some("2")
        );
    }

    #[test]
    fn huge_inputs_are_linear() {
        let big = "{".repeat(1_000_000) + r"\boxed{" + &"x".repeat(10);
        assert_eq!(ex(&big), None);
        let big = "a ".repeat(500_000) + r"\boxed{5}";
        assert_eq!(ex(&big).as_deref(), Some("5"));
    }
}
