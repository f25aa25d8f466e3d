//! Modular checks: two scalar answers whose values differ modulo a prime are different numbers
//! (or different rational functions), which settles answers whose exact values are enormous
//! (`2^{10^6} + 1` against `2^{10^6}`, `(x+y+z+w)^{400}` against `1`, `1000000!` against
//! `0`) without computing them.
//!
//! A residue is computed by the ring homomorphism Q[x, ...] -> Z/p: integers and fractions
//! reduce mod `p` (a denominator divisible by `p` leaves the check undecided), a free symbol
//! (a variable, pi, e) takes a fixed value derived from its name, powers use fast modular
//! exponentiation (Fermat's little theorem reduces an exponent that is itself too big to
//! compute, such as the `2^{2^{100}}` of a tower), factorials and binomials multiply out mod
//! `p`. What has no residue (radicals, `i`, logarithms, `|x|`, infinity) leaves the check
//! undecided. Equal residues prove nothing; only a difference is used, so the check is sound.

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use super::budget::{Budget, Fail, Res};
use super::eval::scalar;
use super::parse::Node;

/// Two primes below 2^32: a product of residues fits in a u64 (fast arithmetic), and two
/// different values agree modulo both with odds of about 2^-64, which only costs a shortcut.
pub const PRIMES: [u64; 2] = [4_294_967_291, 4_294_967_279];

/// Most factors of a factorial or binomial multiplied out mod p (a fraction of a millisecond).
const MAX_PRODUCT: u64 = 20_000;

/// The residues of `n` modulo [`PRIMES`], `None` where `n` has none.
pub fn residues(n: &Node, b: &mut Budget) -> Res<[Option<u64>; 2]> {
    let mut out = [None; 2];
    for (k, &p) in PRIMES.iter().enumerate() {
        out[k] = residue(n, p, b)?;
    }
    Ok(out)
}

/// `true` for an expression that may be costly to compute exactly: a factorial, a binomial,
/// or a power to an integer of 64 or more or to a computed exponent (`2^{2^{20}}`); roots and
/// powers to symbols are not.
pub fn costly(n: &Node) -> bool {
    match n {
        Node::Fact(_) | Node::Binom(..) => true,
        Node::Pow(x, e) => {
            let big_exponent = match e.as_ref() {
                Node::Int(k) => k.magnitude().bits() > 6,
                e => matches!(
                    e,
                    Node::Pow(..)
                        | Node::Fact(_)
                        | Node::Binom(..)
                        | Node::Mul(..)
                        | Node::Add(..)
                        | Node::Sub(..)
                ),
            };
            big_exponent || costly(x)
        }
        Node::Neg(x) => costly(x),
        Node::Add(x, y) | Node::Sub(x, y) | Node::Mul(x, y) | Node::Div(x, y) => {
            costly(x) || costly(y)
        }
        _ => false,
    }
}

/// `true` when the residues prove the two values different.
pub fn differ(x: &[Option<u64>; 2], y: &[Option<u64>; 2]) -> bool {
    x.iter()
        .zip(y)
        .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b))
}

fn mul(a: u64, b: u64, p: u64) -> u64 {
    // Residues are below 2^32, so the product fits.
    (a * b) % p
}

fn pow(mut base: u64, exp: &BigUint, p: u64) -> u64 {
    let mut acc = 1 % p;
    for k in 0..exp.bits() {
        if exp.bit(k) {
            acc = mul(acc, base, p);
        }
        base = mul(base, base, p);
    }
    acc
}

fn inverse(a: u64, p: u64) -> Option<u64> {
    (a != 0).then(|| pow(a, &BigUint::from(p - 2), p))
}

fn reduce(x: &BigInt, p: u64) -> u64 {
    x.mod_floor(&BigInt::from(p))
        .to_u64()
        .expect("a residue fits")
}

/// A fixed value for a free symbol: FNV-1a of its name, reduced mod p.
fn symbol_value(name: &str, p: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        h ^= byte as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % p
}

/// The exact value of `n` when it is an integer that can be computed within the size limits.
pub(crate) fn exact_integer(n: &Node, b: &mut Budget) -> Res<Option<BigInt>> {
    if let Node::Int(x) = n {
        return Ok(Some(x.clone()));
    }
    match scalar(n, b) {
        Ok(v) => Ok(v
            .as_rational()
            .filter(|q| q.is_integer())
            .map(|q| q.to_integer())),
        Err(Fail::Budget) => Err(Fail::Budget),
        Err(_) => Ok(None),
    }
}

/// `n mod m` for an expression built from nonnegative integers by `+`, `*`, powers and
/// factorials (an exponent too big to compute, `2^{2^{100}}`), else `None`.
fn natural_residue(n: &Node, m: u64, b: &mut Budget) -> Res<Option<u64>> {
    b.tick(1)?;
    Ok(match n {
        Node::Int(x) if !x.is_negative() => Some(reduce(x, m)),
        Node::Add(x, y) | Node::Mul(x, y) => {
            let (Some(a), Some(c)) = (natural_residue(x, m, b)?, natural_residue(y, m, b)?) else {
                return Ok(None);
            };
            Some(if matches!(n, Node::Add(..)) {
                (a + c) % m
            } else {
                mul(a, c, m)
            })
        }
        Node::Pow(x, e) => match (natural_residue(x, m, b)?, exact_integer(e, b)?) {
            (Some(a), Some(k)) if !k.is_negative() => {
                b.tick(1 + k.bits() / 64)?;
                Some(pow(a, &k.magnitude().clone(), m))
            }
            _ => None,
        },
        _ => None,
    })
}

/// The residue of `n` modulo the prime `p`, or `None` when it has none.
pub fn residue(n: &Node, p: u64, b: &mut Budget) -> Res<Option<u64>> {
    b.tick(1)?;
    let two = |x: &Node, y: &Node, b: &mut Budget| -> Res<Option<(u64, u64)>> {
        Ok(match (residue(x, p, b)?, residue(y, p, b)?) {
            (Some(a), Some(c)) => Some((a, c)),
            _ => None,
        })
    };
    Ok(match n {
        Node::Int(x) => Some(reduce(x, p)),
        Node::Num(q) => inverse(reduce(q.denom(), p), p).map(|d| mul(reduce(q.numer(), p), d, p)),
        Node::LitFrac(x, y) => inverse(reduce(y, p), p).map(|d| mul(reduce(x, p), d, p)),
        Node::Sym(s) if s != "inf" => Some(symbol_value(s, p)),
        Node::Neg(x) => residue(x, p, b)?.map(|a| (p - a) % p),
        Node::Add(x, y) => two(x, y, b)?.map(|(a, c)| (a + c) % p),
        Node::Sub(x, y) => two(x, y, b)?.map(|(a, c)| (a + p - c) % p),
        Node::Mul(x, y) => two(x, y, b)?.map(|(a, c)| mul(a, c, p)),
        Node::Div(x, y) => match two(x, y, b)? {
            Some((a, c)) => inverse(c, p).map(|d| mul(a, d, p)),
            None => None,
        },
        Node::Pow(x, e) => power_residue(x, e, p, b)?,
        Node::Fact(x) => match exact_integer(x, b)? {
            Some(k) if !k.is_negative() => product_residue(1, k.to_u64(), p, b)?,
            _ => None,
        },
        Node::Binom(x, y) => match (exact_integer(x, b)?, exact_integer(y, b)?) {
            (Some(nn), Some(kk)) => binom_residue(&nn, &kk, p, b)?,
            _ => None,
        },
        _ => None,
    })
}

fn power_residue(x: &Node, e: &Node, p: u64, b: &mut Budget) -> Res<Option<u64>> {
    let Some(a) = residue(x, p, b)? else {
        return Ok(None);
    };
    if let Some(k) = exact_integer(e, b)? {
        b.tick(1 + k.bits() / 64)?;
        if a == 0 {
            // 0^0 = 1 (the judge's convention); 0 to a negative power has no value.
            return Ok(match k.sign() {
                num_bigint::Sign::Minus => None,
                num_bigint::Sign::NoSign => Some(1 % p),
                num_bigint::Sign::Plus => Some(0),
            });
        }
        let base = if k.is_negative() {
            inverse(a, p).expect("a is nonzero")
        } else {
            a
        };
        return Ok(Some(pow(base, k.magnitude(), p)));
    }
    // An exponent too big to compute: a^k = a^(k mod (p-1)) for a != 0 mod p (Fermat).
    if a == 0 {
        return Ok(None);
    }
    Ok(natural_residue(e, p - 1, b)?.map(|k| pow(a, &BigUint::from(k), p)))
}

/// `from * (from+1) * ... * to` mod p (a factorial when `from` is 1); `None` past the cap.
fn product_residue(from: u64, to: Option<u64>, p: u64, b: &mut Budget) -> Res<Option<u64>> {
    let Some(to) = to else { return Ok(None) };
    if to >= p {
        return Ok(if from <= p { Some(0) } else { None });
    }
    if to.saturating_sub(from) > MAX_PRODUCT {
        return Ok(None);
    }
    let mut acc = 1 % p;
    let mut k = from;
    while k <= to {
        if (k - from) % 64 == 0 {
            b.tick(1)?;
        }
        acc = mul(acc, k % p, p);
        k += 1;
    }
    Ok(Some(acc))
}

fn binom_residue(n: &BigInt, k: &BigInt, p: u64, b: &mut Budget) -> Res<Option<u64>> {
    if k.is_negative() || n.is_negative() || k > n {
        return Ok(Some(0));
    }
    let k = std::cmp::min(k.clone(), n - k);
    let (Some(n), Some(k)) = (n.to_u64(), k.to_u64()) else {
        return Ok(None);
    };
    if n >= p || k > MAX_PRODUCT {
        return Ok(None);
    }
    if k.is_zero() {
        return Ok(Some(1 % p));
    }
    // C(n, k) = (n-k+1 ... n) / k!, and n < p makes k! invertible.
    let (Some(top), Some(bottom)) = (
        product_residue(n - k + 1, Some(n), p, b)?,
        product_residue(1, Some(k), p, b)?,
    ) else {
        return Ok(None);
    };
    Ok(inverse(bottom, p).map(|d| mul(top, d, p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::normalize::normalize;
    use crate::math::parse::parse;

    fn res(s: &str) -> [Option<u64>; 2] {
        let mut b = Budget::unlimited();
        let n = normalize(s, &mut b).unwrap();
        residues(&parse(&n, &mut b).unwrap(), &mut b).unwrap()
    }

    #[test]
    fn equal_values_have_equal_residues() {
        for (a, c) in [
            ("2^{10}", "1024"),
            ("\\frac{1}{3}", "2/6"),
            ("(x+1)^2", "x^2+2x+1"),
            ("5!", "120"),
            ("\\binom{10}{3}", "120"),
            ("2^{2^{100}}", "4^{2^{99}}"),
            ("2^{-3}", "0.125"),
            ("0^0", "1"),
        ] {
            assert_eq!(res(a), res(c), "{a} vs {c}");
            assert!(res(a).iter().all(Option::is_some), "{a}");
        }
    }

    #[test]
    fn different_values_are_told_apart() {
        for (a, c) in [
            ("2^{1000000}+1", "2^{1000000}"),
            ("(x+y+z+w)^{400}", "1"),
            ("20000!", "0"),
            ("3^{3^{3^{3}}}", "3^{3^{3^{3}}}+3"),
            ("\\binom{100000}{5000}", "\\binom{100000}{4999}"),
        ] {
            assert!(differ(&res(a), &res(c)), "{a} vs {c}");
        }
    }

    #[test]
    fn no_residue_without_a_value_mod_p() {
        for s in ["\\sqrt{2}", "i", "\\infty", "\\ln 2", "|x|", "\\frac{1}{0}"] {
            assert!(res(s).iter().all(Option::is_none), "{s}");
        }
    }
}
