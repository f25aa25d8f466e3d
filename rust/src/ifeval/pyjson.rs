//! `json.loads` acceptance, exactly as CPython's C scanner decides it.
//!
//! `detectable_format:json_format` only asks whether `json.loads` raises, so this is a
//! validator, not a parser: Python's leniencies are accepted (`NaN`, `Infinity`, `-Infinity`,
//! lone surrogate escapes, duplicate keys, arbitrarily large numbers) and its strictness kept
//! (no trailing commas, no control characters inside strings, only ` \t\n\r` as whitespace).
//! The walk is iterative: deeply nested input cannot overflow the stack.

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Scans a string body after the opening quote; returns the index after the closing quote.
fn scan_string(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let c = *b.get(i)?;
        match c {
            b'"' => return Some(i + 1),
            b'\\' => {
                let e = *b.get(i + 1)?;
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = b.get(i + 2..i + 6)?;
                        if !hex.iter().all(|h| h.is_ascii_hexdigit()) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// Scans a number (or the NaN/Infinity literals); returns the index after it.
fn scan_number(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
        if b[i..].starts_with(b"Infinity") {
            return Some(i + 8);
        }
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 2;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            i = j;
        }
    }
    Some(i)
}

/// Scans one scalar value or the opening of a container starting at `i`.
enum Tok {
    Scalar(usize),
    Open(u8, usize),
}

fn scan_value_start(b: &[u8], i: usize) -> Option<Tok> {
    let c = *b.get(i)?;
    Some(match c {
        b'"' => Tok::Scalar(scan_string(b, i + 1)?),
        b'{' => Tok::Open(b'}', i + 1),
        b'[' => Tok::Open(b']', i + 1),
        b'n' if b[i..].starts_with(b"null") => Tok::Scalar(i + 4),
        b't' if b[i..].starts_with(b"true") => Tok::Scalar(i + 4),
        b'f' if b[i..].starts_with(b"false") => Tok::Scalar(i + 5),
        b'N' if b[i..].starts_with(b"NaN") => Tok::Scalar(i + 3),
        b'I' if b[i..].starts_with(b"Infinity") => Tok::Scalar(i + 8),
        b'-' | b'0'..=b'9' => Tok::Scalar(scan_number(b, i)?),
        _ => return None,
    })
}

/// True iff Python's `json.loads(s)` returns without raising `ValueError`.
pub fn python_json_loads_ok(s: &str) -> bool {
    if s.starts_with('\u{feff}') {
        return false;
    }
    let b = s.as_bytes();
    let mut stack: Vec<u8> = Vec::new();
    let mut i = skip_ws(b, 0);
    // Parse a value at i; containers push their closer.
    'value: loop {
        match scan_value_start(b, i) {
            None => return false,
            Some(Tok::Scalar(end)) => i = end,
            Some(Tok::Open(closer, after)) => {
                i = skip_ws(b, after);
                if b.get(i) == Some(&closer) {
                    i += 1;
                } else {
                    stack.push(closer);
                    if closer == b'}' {
                        // key
                        if b.get(i) != Some(&b'"') {
                            return false;
                        }
                        let Some(end) = scan_string(b, i + 1) else {
                            return false;
                        };
                        i = skip_ws(b, end);
                        if b.get(i) != Some(&b':') {
                            return false;
                        }
                        i = skip_ws(b, i + 1);
                    }
                    continue 'value;
                }
            }
        }
        // After a complete value: close containers or continue with the next element.
        loop {
            let Some(&closer) = stack.last() else {
                return skip_ws(b, i) == b.len();
            };
            i = skip_ws(b, i);
            match b.get(i) {
                Some(&c) if c == closer => {
                    stack.pop();
                    i += 1;
                }
                Some(b',') => {
                    i = skip_ws(b, i + 1);
                    if closer == b'}' {
                        if b.get(i) != Some(&b'"') {
                            return false;
                        }
                        let Some(end) = scan_string(b, i + 1) else {
                            return false;
                        };
                        i = skip_ws(b, end);
                        if b.get(i) != Some(&b':') {
                            return false;
                        }
                        i = skip_ws(b, i + 1);
                    }
                    continue 'value;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::python_json_loads_ok as ok;

    #[test]
    fn python_json_leniency_and_strictness() {
        for good in [
            "{}",
            "[]",
            " {\"a\": [1, 2.5e3, -0, NaN, -Infinity, Infinity, null, true]} ",
            "\"x\\ud800\"",
            "1",
            "-1.5E+2",
            "{\"a\":1,\"a\":2}",
            "[[[[]]]]",
            "\"é\"",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "01",
            "1.",
            "[1] x",
            "\"a\nb\"",
            "\u{feff}{}",
            "{\"a\"}",
            "-",
            "nan",
            "\"\\x\"",
            "[",
            "1e",
            "\u{a0}1",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let s = "[".repeat(1_000_000);
        assert!(!ok(&s));
        let s = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(ok(&s));
    }
}
