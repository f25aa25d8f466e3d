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
            Strategy::Boxed => final_boxes(text),
            Strategy::FinalAnswer => after_marker(text, "the final answer is").map(str::to_string),
            Strategy::Hashes => after_marker(text, "####").map(str::to_string),
            Strategy::AnswerColon => after_marker(text, "answer:").map(str::to_string),
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

/// Positions `(command start, content start, closing brace)` of the balanced boxes among the
/// last 16 box commands, last first.
fn boxes_from_end(text: &str) -> Vec<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut starts: Vec<(usize, usize)> = Vec::new();
    for cmd in ["\\boxed", "\\fbox"] {
        starts.extend(text.match_indices(cmd).map(|(i, m)| (i, i + m.len())));
    }
    starts.sort_unstable();
    // Only the last few: each try scans to the end, and a hostile text may hold thousands of
    // unclosed boxes.
    let mut out = Vec::new();
    for &(cmd, after) in starts.iter().rev().take(16) {
        let mut j = after;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'{' {
            if let Some(end) = matching_brace(bytes, j) {
                out.push((cmd, j + 1, end));
            }
        }
    }
    out
}

/// The final boxed answer: the content of the last balanced box, or, when several boxes end
/// the text separated only by commas, spacing, `and`/`or` (`\boxed{1}, \boxed{2}`,
/// `\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}`), the list of their contents. In
/// such a list a label written before a box is kept with it (`y_1 = \boxed{A}` and
/// `y_2 = \boxed{B}` -> `y_1 = A, y_2 = B`), since it says which value is which.
pub fn final_boxes(text: &str) -> Option<String> {
    let boxes = boxes_from_end(text);
    let &(cmd, open, close) = boxes.first()?;
    let mut chain = vec![(cmd, open, close, None)];
    let mut next_cmd = cmd;
    for &(c, o, e) in &boxes[1..] {
        if e >= next_cmd {
            break; // not before the box that follows it (nested, or unbalanced)
        }
        match gap_label(&text[e + 1..next_cmd]) {
            Some(label) => {
                chain.last_mut().expect("one").3 = label;
                chain.push((c, o, e, None));
                next_cmd = c;
            }
            None => break,
        }
    }
    if chain.len() == 1 {
        return Some(text[open..close].to_string());
    }
    let first = chain.last_mut().expect("one");
    first.3 = label_before(&text[..first.0]);
    let items: Vec<String> = chain
        .iter()
        .rev()
        .map(|&(_, o, e, label)| match label {
            Some(l) => format!("{l} = {}", &text[o..e]),
            None => text[o..e].to_string(),
        })
        .collect();
    Some(items.join(", "))
}

/// Text between two boxes that only separates them: `Some(label)` (the label of the next box,
/// `y_2 = `, if any) or `None` when the gap holds anything else (prose, a full stop).
fn gap_label(gap: &str) -> Option<Option<&str>> {
    let b = gap.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || matches!(c, b',' | b';' | b'$') {
            i += 1;
        } else if c == b'\\' {
            let name_len = b[i + 1..]
                .iter()
                .take_while(|x| x.is_ascii_alphabetic())
                .count();
            let name = &gap[i + 1..i + 1 + name_len];
            if name_len == 0 {
                match b.get(i + 1) {
                    Some(b'(' | b')' | b'[' | b']' | b',' | b';' | b':' | b'!' | b' ') => i += 2,
                    _ => return None,
                }
            } else if name == "quad" || name == "qquad" {
                i += 1 + name_len;
            } else if CONNECTOR_WRAPPERS.contains(&name) && b.get(i + 1 + name_len) == Some(&b'{') {
                let open = i + 1 + name_len;
                let end = matching_brace(b, open)?;
                let words = gap[open + 1..end].split(|c: char| c.is_ascii_whitespace() || c == ',');
                if !words
                    .into_iter()
                    .all(|w| w.is_empty() || w == "and" || w == "or")
                {
                    return None;
                }
                i = end + 1;
            } else {
                return None;
            }
        } else if c.is_ascii_alphabetic() {
            let len = b[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphabetic())
                .count();
            let word = &gap[i..i + len];
            if word == "and" || word == "or" {
                i += len;
            } else {
                return label_eq(&gap[i..]).map(Some);
            }
        } else {
            return None;
        }
    }
    Some(None)
}

/// Wrappers whose content may be a connector word between boxes (`\text{ and }`).
const CONNECTOR_WRAPPERS: &[&str] = &["text", "mathrm", "mbox", "textrm", "textbf"];

/// `s` is a label and an equals sign (`y_2 = `, `x_{1}=`, `AB =`): the label.
fn label_eq(s: &str) -> Option<&str> {
    let t = trim_ascii_end(s);
    let t = trim_ascii_end(t.strip_suffix('=')?);
    let b = t.as_bytes();
    let letters = b.iter().take_while(|x| x.is_ascii_alphabetic()).count();
    if !(1..=2).contains(&letters) {
        return None;
    }
    let rest = &t[letters..];
    let ok = rest.is_empty()
        || rest.strip_prefix('_').is_some_and(|sub| {
            let inner = sub
                .strip_prefix('{')
                .and_then(|x| x.strip_suffix('}'))
                .unwrap_or(sub);
            !inner.is_empty() && inner.bytes().all(|x| x.is_ascii_alphanumeric())
        });
    ok.then_some(t)
}

/// A label right before the first box of a list (`y_1 = \boxed{...}`), if any.
fn label_before(before: &str) -> Option<&str> {
    let mut t = trim_ascii_end(before);
    loop {
        let u = t
            .trim_end_matches('$')
            .trim_end_matches("\\(")
            .trim_end_matches("\\[");
        let u = trim_ascii_end(u);
        if u.len() == t.len() {
            break;
        }
        t = u;
    }
    let eq = trim_ascii_end(t.strip_suffix('=')?);
    // The label starts after the last character that cannot be part of one.
    let start = eq
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '{' | '}')))
        .map_or(0, |(k, c)| k + c.len_utf8());
    label_eq(&t[start..])
}

fn trim_ascii_end(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_whitespace())
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
