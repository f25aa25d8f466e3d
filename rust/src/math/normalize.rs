//! Turning an extracted answer string into a canonical string the parser reads.
//!
//! Removes what carries no mathematical meaning (`$`, `\left`, spacing commands, `\text{}`
//! wrappers, degrees, percent signs, trailing units and punctuation, thousands separators),
//! maps common Unicode symbols to LaTeX, and renames synonyms (`\dfrac` -> `\frac`).

use super::budget::{Budget, Res};
use super::extract::matching_brace;

/// Commands whose braced argument is kept as plain content.
const WRAPPERS: &[&str] = &[
    "text",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "texttt",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mbox",
    "hbox",
    "operatorname",
    "boldsymbol",
    "bm",
    "mathbb",
    "mathcal",
    "textnormal",
    "emph",
];

/// Commands dropped entirely (layout and spacing).
const DROPPED: &[&str] = &[
    "left",
    "right",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "big",
    "Big",
    "displaystyle",
    "textstyle",
    "circ",
    "degree",
    "degrees",
    "limits",
    "nolimits",
    "bf",
    "rm",
    "it",
];

/// Words dropped when they trail a numeric answer ("10 cm", "5 dollars").
const UNITS: &[&str] = &[
    "cm",
    "m",
    "km",
    "mm",
    "meter",
    "meters",
    "metre",
    "metres",
    "centimeters",
    "inch",
    "inches",
    "ft",
    "foot",
    "feet",
    "yard",
    "yards",
    "mile",
    "miles",
    "units",
    "unit",
    "square",
    "sq",
    "cubic",
    "degrees",
    "degree",
    "deg",
    "dollars",
    "dollar",
    "cents",
    "cent",
    "hours",
    "hour",
    "minutes",
    "minute",
    "seconds",
    "second",
    "days",
    "day",
    "weeks",
    "week",
    "years",
    "year",
    "kg",
    "g",
    "grams",
    "gram",
    "pounds",
    "pound",
    "lbs",
    "lb",
    "ounces",
    "oz",
    "liters",
    "liter",
    "litres",
    "ml",
    "mph",
    "percent",
    "points",
    "point",
    "people",
    "students",
    "ways",
    "times",
    "items",
    "cups",
    "boxes",
    "apples",
    "marbles",
    "pages",
    "books",
    "dogs",
    "cats",
    "pairs",
    "values",
    "numbers",
    "solutions",
    "integers",
    "terms",
    "digits",
    "triangles",
    "inequalities",
    "games",
    "rounds",
    "moves",
    "steps",
    "sides",
    "edges",
    "vertices",
];

/// Marks a `\quad` while scanning: it separates list items (`x = 1 \quad x = 2`), and the
/// marks are resolved once the text is scanned. Input text never holds it (the scanner maps a
/// literal U+E000 to a space).
const QUAD: char = '\u{E000}';

/// The canonical form of `s` (see the module docs). Spends budget proportional to its length.
pub fn normalize(s: &str, b: &mut Budget) -> Res<String> {
    b.tick(1 + s.len() as u64 / 16)?;
    let mut s = undouble_backslashes(s);
    s = latex_thousands(&s);
    for (from, to) in [
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("{,}", ""),
        ("\\!", ""),
        ("°", ""),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    let mut out = String::with_capacity(s.len());
    scan(&s, &mut out, 0);
    let out = if out.contains(QUAD) {
        resolve_quads(&out)
    } else {
        out
    };
    let out = drop_thousands_commas(&out);
    let out = strip_trailing_units(out.trim().trim_end_matches(['.', ';']).trim_end());
    let t = out.trim().trim_start_matches('+').trim();
    // A leading `+` is decoration ("+5" is 5), but "+" alone is not an answer.
    let t = if t.is_empty() { out.trim() } else { t };
    let t = collapse_spaces(t);
    // "x = 1 or x = 2", "3 and 5", "(11,7)or(7,11)": the words separate the items of a list.
    Ok(connectors_to_commas(&t))
}

/// JSON exports sometimes double every backslash (`\\frac{1}{2}`, `\\left(`). A doubled
/// backslash before a letter is never meant (`\\` is a line break, which an answer has
/// only in a matrix row, before a space or a digit), so when one occurs, every doubled
/// backslash before a letter or a LaTeX delimiter is read as one.
fn undouble_backslashes(s: &str) -> String {
    let b = s.as_bytes();
    let doubled = |k: usize| b[k] == b'\\' && b.get(k + 1) == Some(&b'\\');
    let is_doubled_cmd = (0..b.len()).any(|k| {
        doubled(k)
            && b.get(k + 2).is_some_and(u8::is_ascii_alphabetic)
            && (k == 0 || b[k - 1] != b'\\')
    });
    if !is_doubled_cmd {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut k = 0;
    while k < b.len() {
        if doubled(k)
            && b.get(k + 2)
                .is_some_and(|c| c.is_ascii_alphabetic() || b"()[]{},;!%$ ".contains(c))
        {
            out.push('\\');
            k += 2;
            continue;
        }
        let c = s[k..].chars().next().expect("in bounds");
        out.push(c);
        k += c.len_utf8();
    }
    out
}

/// `32,\! 349` (the MATH dataset's thousands separator) -> `32,349`: the `\!` and the spaces
/// after a comma between digits go, and the comma is then read as any thousands separator.
fn latex_thousands(s: &str) -> String {
    if !s.contains(",\\!") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find(",\\!") {
        let after = rest[k + 3..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let digit_before = rest[..k].ends_with(|c: char| c.is_ascii_digit());
        let digit_after = after.starts_with(|c: char| c.is_ascii_digit());
        out.push_str(&rest[..k]);
        if digit_before && digit_after {
            out.push(',');
            rest = after;
        } else {
            out.push_str(",\\!");
            rest = &rest[k + 3..];
        }
    }
    out.push_str(rest);
    out
}

/// `a \quad b` -> `a, b`: each `\quad` mark separates two items; marks at either end, next to
/// a comma or around a connector word (`\quad \text{and} \quad`) only decorate.
fn resolve_quads(s: &str) -> String {
    let items: Vec<&str> = s
        .split(QUAD)
        .map(|p| p.trim().trim_matches(',').trim())
        .filter(|p| !p.is_empty() && *p != "and" && *p != "or")
        .collect();
    items.join(", ")
}

/// The words `or` and `and` standing alone (not inside a longer word or a command name)
/// become commas, and the commas are tidied (`x = 1, or x = 2` -> `x = 1, x = 2`).
fn connectors_to_commas(t: &str) -> String {
    if !(t.contains("or") || t.contains("and")) {
        return t.to_string();
    }
    let b = t.as_bytes();
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut k = 0;
    while k < b.len() {
        if b[k].is_ascii_alphabetic() && (k == 0 || !b[k - 1].is_ascii_alphabetic()) {
            let len = b[k..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let word = &t[k..k + len];
            if (word == "or" || word == "and") && (k == 0 || b[k - 1] != b'\\') {
                parts.push(&t[start..k]);
                start = k + len;
            }
            k += len;
        } else {
            k += 1;
        }
    }
    if parts.is_empty() {
        return t.to_string();
    }
    parts.push(&t[start..]);
    let items: Vec<&str> = parts
        .iter()
        .map(|p| p.trim().trim_matches(',').trim())
        .filter(|p| !p.is_empty())
        .collect();
    items.join(", ")
}

fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn scan(s: &str, out: &mut String, depth: usize) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().expect("in bounds");
        let w = c.len_utf8();
        match c {
            '\\' => {
                let rest = &s[i + 1..];
                let name_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
                if name_len == 0 {
                    // `\{`, `\\`, `\,` ...
                    let Some(next) = rest.chars().next() else {
                        i += 1;
                        continue;
                    };
                    match next {
                        ',' | ';' | ':' | '!' | ' ' | '$' | '%' | '(' | ')' | '[' | ']' => {}
                        _ => {
                            out.push('\\');
                            out.push(next);
                        }
                    }
                    i += 1 + next.len_utf8();
                    continue;
                }
                let name = &rest[..name_len];
                let after = i + 1 + name_len;
                if WRAPPERS.contains(&name) {
                    let mut j = after;
                    while j < bytes.len() && bytes[j] == b' ' {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j] == b'{' {
                        if let Some(end) = matching_brace(bytes, j) {
                            out.push(' ');
                            // `\text{ cm}`: a unit spelled out as text is dropped whole, even a
                            // one-letter one (bare `5 m` could be five times m).
                            if is_unit_phrase(&s[j + 1..end]) {
                                i = end + 1;
                                // and its power: `\text{ cm}^2`, `\text{m}^{3}`
                                for pow in ["^2", "^3", "^{2}", "^{3}"] {
                                    if s[i..].starts_with(pow) {
                                        i += pow.len();
                                        break;
                                    }
                                }
                                continue;
                            }
                            if depth < 32 {
                                scan(&s[j + 1..end], out, depth + 1);
                            }
                            out.push(' ');
                            i = end + 1;
                            continue;
                        }
                    }
                    i = after;
                    continue;
                }
                // `\quad` (and `\quadx`, a missing space) separates list items.
                if let Some(tail) = name
                    .strip_prefix("qquad")
                    .or_else(|| name.strip_prefix("quad"))
                {
                    out.push(QUAD);
                    out.push_str(tail);
                    i = after;
                    continue;
                }
                if DROPPED.contains(&name) {
                    i = after;
                    // `\left.` / `\right.` are invisible delimiters.
                    if (name == "left" || name == "right") && bytes.get(i) == Some(&b'.') {
                        i += 1;
                    }
                    continue;
                }
                match name {
                    "dfrac" | "tfrac" | "cfrac" => out.push_str("\\frac"),
                    "dbinom" | "tbinom" => out.push_str("\\binom"),
                    "cdot" | "times" | "ast" => out.push('*'),
                    "div" => out.push('/'),
                    "leq" | "leqslant" => out.push_str("\\le "),
                    "geq" | "geqslant" => out.push_str("\\ge "),
                    "neq" => out.push_str("\\ne "),
                    "lt" => out.push('<'),
                    "gt" => out.push('>'),
                    "varnothing" => out.push_str("\\emptyset "),
                    "mp" => out.push_str("\\mp "),
                    _ => {
                        out.push('\\');
                        out.push_str(name);
                        // Keep `\pi2` from reading as one command.
                        out.push(' ');
                    }
                }
                i = after;
            }
            '$' | '%' => i += 1,
            '\0'..='\x1f' | '\x7f' => {
                out.push(' ');
                i += 1;
            }
            _ => {
                match c {
                    '−' | '–' | '—' => out.push('-'),
                    '×' | '·' | '⋅' | '∗' => out.push('*'),
                    '÷' | '∕' => out.push('/'),
                    'π' => out.push_str("\\pi "),
                    '∞' => out.push_str("\\infty "),
                    '√' => out.push_str("\\sqrt "),
                    '≤' => out.push_str("\\le "),
                    '≥' => out.push_str("\\ge "),
                    '≠' => out.push_str("\\ne "),
                    '∪' => out.push_str("\\cup "),
                    '±' => out.push_str("\\pm "),
                    '∈' => out.push_str("\\in "),
                    '，' => out.push(','),
                    '\u{a0}' | '\u{2009}' | '\u{202f}' | QUAD => out.push(' '),
                    _ => out.push(c),
                }
                i += w;
            }
        }
    }
}

/// `1,000,000` -> `1000000` where every comma is followed by exactly three digits and the
/// first group has one to three digits, unless the number alone fills a bracket pair
/// (`(12,102)` is a pair); other commas (lists, tuples) are kept.
fn drop_thousands_commas(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let first = i - start;
            let mut groups = Vec::new();
            let mut k = i;
            while k + 3 < b.len()
                && b[k] == b','
                && b[k + 1..k + 4].iter().all(u8::is_ascii_digit)
                && (k + 4 == b.len() || !b[k + 4].is_ascii_digit())
            {
                groups.push(k);
                k += 4;
            }
            out.push_str(&s[start..i]);
            // `(12,102)` fills a bracket pair: a pair of numbers, not twelve thousand.
            let opened = s[..start].trim_end().ends_with(['(', '[']);
            let closed = s[k..].trim_start().starts_with([')', ']']);
            if first <= 3 && !groups.is_empty() && !(opened && closed) {
                for &g in &groups {
                    out.push_str(&s[g + 1..g + 4]);
                }
                i = k;
            }
        } else {
            let c = s[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `true` for text made only of unit words ("cm", "square feet").
fn is_unit_phrase(s: &str) -> bool {
    let mut words = s.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| {
            let w = w.trim_end_matches(|c: char| c == '^' || c.is_ascii_digit());
            UNITS.contains(&w.to_ascii_lowercase().as_str())
        })
}

/// `true` when `s` has no letters outside LaTeX command names (`10`, `2\sqrt{3}`, not `n+2`).
fn letters_only_in_commands(s: &str) -> bool {
    let b = s.as_bytes();
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\\' {
            k += 1;
            while k < b.len() && b[k].is_ascii_alphabetic() {
                k += 1;
            }
        } else if b[k].is_ascii_alphabetic() {
            return false;
        } else {
            k += 1;
        }
    }
    true
}

/// Drops trailing unit words after a number ("10 cm^2" -> "10"); only words of two or more
/// letters, and only when what precedes has no variables ("n + 2 m" is kept).
fn strip_trailing_units(s: &str) -> String {
    let mut t = s.trim_end();
    loop {
        let u =
            t.trim_end_matches(|c: char| matches!(c, '^' | '{' | '}' | ' ') || c.is_ascii_digit());
        let u = if u.len() < t.len() && u.ends_with(|c: char| c.is_ascii_alphabetic()) {
            u
        } else {
            t
        };
        let word_start = u
            .char_indices()
            .rev()
            .find(|(_, c)| !c.is_ascii_alphabetic())
            .map_or(0, |(k, c)| k + c.len_utf8());
        let word = &u[word_start..];
        let before = u[..word_start].trim_end();
        // "5 cm" drops the unit, "5cm" is five times c times m.
        let spaced = u[..word_start].ends_with(' ');
        let preceded_ok = spaced
            && !before.ends_with('\\')
            && before.chars().any(|c| c.is_ascii_digit())
            && letters_only_in_commands(before);
        if word.len() >= 2 && preceded_ok && UNITS.contains(&word.to_ascii_lowercase().as_str()) {
            t = before;
        } else {
            break;
        }
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s, &mut Budget::unlimited()).unwrap()
    }

    #[test]
    fn strips_decoration() {
        assert_eq!(n(r"$\dfrac{1}{2}$"), r"\frac{1}{2}");
        assert_eq!(n(r"\left( 1, 2 \right]"), "( 1, 2 ]");
        assert_eq!(n(r"30^\circ"), "30");
        assert_eq!(n(r"30^{\circ}"), "30");
        assert_eq!(n(r"\$5.00"), "5.00");
        assert_eq!(n(r"50\%"), "50");
        assert_eq!(n(r"10\text{ cm}^2"), "10");
        assert_eq!(n(r"5 \text{ dollars}."), "5");
        assert_eq!(n(r"\text{Monday}"), "Monday");
        assert_eq!(n("+7"), "7");
        assert_eq!(n("3\u{2212}1"), "3-1");
        assert_eq!(n("a\0b"), "a b");
        assert_eq!(n(r"x=1 \text{ or } x=2"), "x=1, x=2");
        assert_eq!(n("3 and  5"), "3, 5");
        assert_eq!(n(r"5\text{ m}"), "5");
        assert_eq!(n("5 m"), "5 m");
        assert_eq!(n("n + 2 cm"), "n + 2 cm");
        assert_eq!(n(r"2\sqrt{3} cm"), r"2\sqrt {3} cm".replace(" cm", ""));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(n("1,000"), "1000");
        assert_eq!(n("1{,}000{,}000"), "1000000");
        assert_eq!(n(r"1\,000"), "1000");
        assert_eq!(n("12,345,678.5"), "12345678.5");
        assert_eq!(n("1,2,3"), "1,2,3");
        assert_eq!(n("(1,2)"), "(1,2)");
        assert_eq!(n("1234,567"), "1234,567");
        assert_eq!(n("1,0000"), "1,0000");
    }
}
