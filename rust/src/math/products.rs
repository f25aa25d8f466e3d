//! Products too big to compute, compared by their prime factorisations: `4^{500000}` is
//! `2^{1000000}`, `9^{9^9}` is `9^{387420489}`, `100000!` is `100000 \cdot 99999!`.
//!
//! A product of integers (up to 10^10, fully factored by trial division), their powers to
//! exact integer exponents (of any size), quotients, signs and factorials (up to 200,000, by
//! Legendre's formula) has a unique factorisation `sign * prod p^e`: two such values are equal
//! exactly when their factorisations are, which decides both ways without computing them.

use std::collections::BTreeMap;

use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};

use super::budget::{Budget, Res};
use super::parse::Node;

/// `sign * prod p^e` (exponents nonzero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factored {
    negative: bool,
    primes: BTreeMap<u64, BigInt>,
}

/// Largest integer factored (trial division up to 10^5).
const MAX_INT: u64 = 10_000_000_000;
const MAX_FACTORIAL: u64 = 200_000;

impl Factored {
    fn one() -> Self {
        Factored {
            negative: false,
            primes: BTreeMap::new(),
        }
    }

    fn times(mut self, other: &Factored, sign: i64) -> Self {
        self.negative ^= other.negative;
        for (p, e) in &other.primes {
            let entry = self.primes.entry(*p).or_insert_with(BigInt::zero);
            *entry += e * sign;
            if entry.is_zero() {
                self.primes.remove(p);
            }
        }
        self
    }
}

fn integer(x: u64, b: &mut Budget) -> Res<Factored> {
    let mut f = Factored::one();
    let mut n = x;
    let mut p = 2u64;
    while p * p <= n {
        if p % 128 == 3 {
            b.tick(1)?;
        }
        while n % p == 0 {
            *f.primes.entry(p).or_insert_with(BigInt::zero) += 1;
            n /= p;
        }
        p += if p == 2 { 1 } else { 2 };
    }
    if n > 1 {
        *f.primes.entry(n).or_insert_with(BigInt::zero) += 1;
    }
    Ok(f)
}

/// The primes `p <= n` with their exponents `e > 0`, where `e` sums `term(p^i)` over the powers
/// `p^i <= n` (Legendre's formula: `term(q) = n/q` gives `n!`), by a sieve of Eratosthenes.
pub(crate) fn legendre_exponents(
    n: u64,
    b: &mut Budget,
    term: impl Fn(u64) -> u64,
) -> Res<Vec<(u64, u64)>> {
    b.tick(1 + n / 64)?;
    let mut composite = vec![false; n as usize + 1];
    let mut out = Vec::new();
    for p in 2..=n {
        if composite[p as usize] {
            continue;
        }
        let mut m = p * p;
        while m <= n {
            composite[m as usize] = true;
            m += p;
        }
        b.tick(1)?;
        let (mut e, mut q) = (0u64, p);
        loop {
            e += term(q);
            if q > n / p {
                break;
            }
            q *= p;
        }
        if e > 0 {
            out.push((p, e));
        }
    }
    Ok(out)
}

fn factorial(n: u64, b: &mut Budget) -> Res<Factored> {
    let mut f = Factored::one();
    for (p, e) in legendre_exponents(n, b, |q| n / q)? {
        f.primes.insert(p, BigInt::from(e));
    }
    Ok(f)
}

/// The factorisation of `n`, when it is such a product (`None` otherwise, or for zero).
pub fn factored(n: &Node, b: &mut Budget) -> Res<Option<Factored>> {
    b.tick(1)?;
    Ok(match n {
        Node::Int(x) => match x.magnitude().to_u64() {
            Some(v) if v != 0 && v <= MAX_INT => {
                let mut f = integer(v, b)?;
                f.negative = x.is_negative();
                Some(f)
            }
            _ => None,
        },
        Node::LitFrac(x, y) => {
            let (Some(fx), Some(fy)) = (
                factored(&Node::Int(x.clone()), b)?,
                factored(&Node::Int(y.clone()), b)?,
            ) else {
                return Ok(None);
            };
            Some(fx.times(&fy, -1))
        }
        Node::Neg(x) => factored(x, b)?.map(|mut f| {
            f.negative = !f.negative;
            f
        }),
        Node::Mul(x, y) | Node::Div(x, y) => {
            let (Some(fx), Some(fy)) = (factored(x, b)?, factored(y, b)?) else {
                return Ok(None);
            };
            Some(fx.times(&fy, if matches!(n, Node::Div(..)) { -1 } else { 1 }))
        }
        Node::Pow(x, e) => {
            let (Some(fx), Some(k)) = (factored(x, b)?, super::modular::exact_integer(e, b)?)
            else {
                return Ok(None);
            };
            b.tick(1 + fx.primes.len() as u64)?;
            Some(Factored {
                // an odd power keeps the sign (bit 0 of a negative k is that of |k|)
                negative: fx.negative && k.bit(0),
                primes: fx
                    .primes
                    .into_iter()
                    .map(|(p, e)| (p, e * &k))
                    .filter(|(_, e)| !e.is_zero())
                    .collect(),
            })
        }
        Node::Fact(x) => match super::modular::exact_integer(x, b)?.and_then(|k| k.to_u64()) {
            Some(k) if k <= MAX_FACTORIAL => Some(factorial(k, b)?),
            _ => None,
        },
        _ => None,
    })
}

/// `Some(equal)` when both answers are such products, which decides them.
pub fn equal_products(x: &Node, y: &Node, b: &mut Budget) -> Res<Option<bool>> {
    Ok(match (factored(x, b)?, factored(y, b)?) {
        (Some(fx), Some(fy)) => Some(fx == fy),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::normalize::normalize;
    use crate::math::parse::parse;

    fn same(a: &str, c: &str) -> Option<bool> {
        let mut b = Budget::unlimited();
        let x = parse(&normalize(a, &mut b).unwrap(), &mut b).unwrap();
        let y = parse(&normalize(c, &mut b).unwrap(), &mut b).unwrap();
        equal_products(&x, &y, &mut b).unwrap()
    }

    #[test]
    fn products_compared_by_factorisation() {
        assert_eq!(same("4^{500000}", "2^{1000000}"), Some(true));
        assert_eq!(same("9^{9^{9}}", "9^{387420489}"), Some(true));
        assert_eq!(same("100000!", "100000 \\cdot 99999!"), Some(true));
        assert_eq!(
            same("\\frac{6^{10^6}}{3^{10^6}}", "2^{1000000}"),
            Some(true)
        );
        assert_eq!(same("(-2)^{1000001}", "-2^{1000001}"), Some(true));
        assert_eq!(same("(-2)^{1000000}", "-2^{1000000}"), Some(false));
        assert_eq!(same("4^{500000}", "2^{999999}"), Some(false));
        assert_eq!(same("2^{1000000}+1", "2^{1000000}"), None);
        assert_eq!(same("0", "0^{5}"), None);
    }
}
