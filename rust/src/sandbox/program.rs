//! Text rules shared with `cgpo.reference.code`: which part of a completion is the program, and
//! when a program's stdout matches the expected output.

/// The program in a completion: the body of the last fenced block whose info string is
/// `python`, `python3` or `py` (case-insensitive) and that is closed by a ```` ``` ```` line;
/// else the whole completion.
pub fn extract_program(completion: &str) -> &str {
    let mut last: Option<(usize, usize)> = None;
    let mut open: Option<(usize, bool)> = None; // (body start, is python)
    let mut pos = 0;
    for line in completion.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let trimmed = line.trim_matches(|c: char| c.is_ascii_whitespace());
        match open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let lang = info.split_ascii_whitespace().next().unwrap_or("");
                    let is_python = matches!(
                        lang.to_ascii_lowercase().as_str(),
                        "python" | "python3" | "py"
                    );
                    open = Some((pos, is_python));
                }
            }
            Some((body, is_python)) => {
                if trimmed == "```" {
                    if is_python {
                        last = Some((body, start));
                    }
                    open = None;
                }
            }
        }
    }
    match last {
        Some((a, b)) => &completion[a..b],
        None => completion,
    }
}

const WS: &[char] = &[' ', '\t', '\r', '\n', '\x0b', '\x0c'];

/// Output lines for comparison: `\r\n` read as `\n`, every line stripped of ASCII whitespace at
/// both ends, trailing empty lines dropped.
pub fn normalise_output(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').map(|l| l.trim_matches(WS)).collect();
    while lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

pub fn outputs_match(actual: &str, expected: &str) -> bool {
    normalise_output(actual) == normalise_output(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_last_python_block() {
        let c =
            "Here:\n```python\nx = 1\n```\nand better:\n```py\ndef f():\n    return 2\n```\nbye";
        assert_eq!(extract_program(c), "def f():\n    return 2\n");
    }

    #[test]
    fn ignores_other_languages_and_unclosed_blocks() {
        let c = "```python\na = 1\n```\n```bash\nls\n```\n```python\nb = 2\n";
        assert_eq!(extract_program(c), "a = 1\n");
        assert_eq!(extract_program("def f(): pass"), "def f(): pass");
    }

    #[test]
    fn output_comparison_ignores_line_end_whitespace_and_trailing_blank_lines() {
        assert!(outputs_match("1 2 \r\n3\n\n\n", "1 2\n3"));
        assert!(outputs_match("  x", "x\n"));
        assert!(!outputs_match("1\n\n2", "1\n2"));
        assert!(!outputs_match("12", "1 2"));
        assert!(outputs_match("", "\n\n"));
    }
}
