//! Exact algebra: polynomials with rational coefficients over radicals, `i`, and symbols.
//!
//! A scalar answer becomes a [`RatFn`] (numerator / denominator [`Poly`]). A monomial is
//! `prod p^(a/b) * i^(0|1) * prod x^k` where each radical base `p` is (as far as trial division
//! can tell) prime and its exponent lies in (0, 1). With distinct prime bases these radical
//! products are linearly independent over Q, `i^2 = -1` is applied on the fly, and pi, e and
//! variables are free symbols, so two polynomials are equal exactly when their term maps are
//! equal. Two rational functions a/b and c/d are equal when a*d - c*b is the zero polynomial.
//! Every operation charges the [`Budget`] by the size of the numbers it touches.

use std::collections::BTreeMap;
use std::fmt;

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::budget::{Budget, Fail, Res, MAX_BITS};

/// One product of radicals, `i` and symbols (without its coefficient).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mono {
    /// `(base, num, den)`: `base^(num/den)` with `0 < num < den`, sorted by base.
    pub rad: Vec<(BigUint, u32, u32)>,
    pub imag: bool,
    /// `(name, exponent >= 1)`, sorted by name.
    pub syms: Vec<(String, u32)>,
}

/// Largest exponent of a symbol we keep (x^1000000 is fine, x^(10^12) is not).
const MAX_SYM_EXP: u32 = 1 << 20;

impl Mono {
    pub fn is_one(&self) -> bool {
        self.rad.is_empty() && !self.imag && self.syms.is_empty()
    }

    /// `self * other = factor * mono`.
    fn mul(&self, other: &Mono) -> Res<(BigRational, Mono)> {
        let mut factor = BigRational::one();
        let mut rad = Vec::with_capacity(self.rad.len() + other.rad.len());
        let (mut i, mut j) = (0, 0);
        while i < self.rad.len() || j < other.rad.len() {
            let take_left =
                j >= other.rad.len() || (i < self.rad.len() && self.rad[i].0 < other.rad[j].0);
            let take_right =
                i >= self.rad.len() || (j < other.rad.len() && other.rad[j].0 < self.rad[i].0);
            if take_left {
                rad.push(self.rad[i].clone());
                i += 1;
            } else if take_right {
                rad.push(other.rad[j].clone());
                j += 1;
            } else {
                let (base, n1, d1) = &self.rad[i];
                let (_, n2, d2) = &other.rad[j];
                let (n1, d1, n2, d2) = (*n1 as u64, *d1 as u64, *n2 as u64, *d2 as u64);
                let mut num = n1 * d2 + n2 * d1;
                let mut den = d1 * d2;
                let g = num.gcd(&den);
                num /= g;
                den /= g;
                if num >= den {
                    factor *= BigRational::from_integer(BigInt::from(base.clone()));
                    num -= den;
                }
                if num != 0 {
                    let (Ok(num), Ok(den)) = (u32::try_from(num), u32::try_from(den)) else {
                        return Err(Fail::TooBig);
                    };
                    rad.push((base.clone(), num, den));
                }
                i += 1;
                j += 1;
            }
        }
        let imag = self.imag ^ other.imag;
        if self.imag && other.imag {
            factor = -factor;
        }
        let mut syms = Vec::with_capacity(self.syms.len() + other.syms.len());
        let (mut i, mut j) = (0, 0);
        while i < self.syms.len() || j < other.syms.len() {
            if j >= other.syms.len() || (i < self.syms.len() && self.syms[i].0 < other.syms[j].0) {
                syms.push(self.syms[i].clone());
                i += 1;
            } else if i >= self.syms.len() || other.syms[j].0 < self.syms[i].0 {
                syms.push(other.syms[j].clone());
                j += 1;
            } else {
                let e = self.syms[i].1 as u64 + other.syms[j].1 as u64;
                if e > MAX_SYM_EXP as u64 {
                    return Err(Fail::TooBig);
                }
                syms.push((self.syms[i].0.clone(), e as u32));
                i += 1;
                j += 1;
            }
        }
        Ok((factor, Mono { rad, imag, syms }))
    }
}

/// Most terms a power of a polynomial may expand to (more would not fit the work budget).
pub const MAX_TERMS: f64 = 4000.0;

/// `ln C(a, k)`, summed in a fixed order (the reference sums the same way); `k` above 10,000
/// counts as infinite.
pub fn ln_binomial(a: f64, k: u64) -> f64 {
    let k = k.min((a - k as f64).max(0.0) as u64);
    if k > 10_000 {
        return f64::INFINITY;
    }
    let mut s = 0.0;
    for j in 1..=k {
        s += ((a - k as f64 + j as f64) / j as f64).ln();
    }
    s
}

/// A polynomial: monomial -> nonzero rational coefficient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poly(pub BTreeMap<Mono, BigRational>);

/// `x * y`, skipping num-rational's reduction when both are integers: its gcd with 1 runs in
/// quadratic time (binary GCD), 50 ms on a 10^5-bit number.
fn qmul(x: &BigRational, y: &BigRational) -> BigRational {
    if x.denom().is_one() && y.denom().is_one() {
        BigRational::from_integer(x.numer() * y.numer())
    } else {
        x * y
    }
}

/// `x + y`, without the reduction when both are integers (see [`qmul`]).
fn qadd(x: &BigRational, y: &BigRational) -> BigRational {
    if x.denom().is_one() && y.denom().is_one() {
        BigRational::from_integer(x.numer() + y.numer())
    } else {
        x + y
    }
}

fn bits(r: &BigRational) -> u64 {
    r.numer().bits() + r.denom().bits()
}

fn check_size(r: &BigRational) -> Res<()> {
    if r.numer().bits() > MAX_BITS || r.denom().bits() > MAX_BITS {
        Err(Fail::TooBig)
    } else {
        Ok(())
    }
}

impl Poly {
    pub fn zero() -> Poly {
        Poly(BTreeMap::new())
    }

    pub fn constant(c: BigRational) -> Poly {
        let mut m = BTreeMap::new();
        if !c.is_zero() {
            m.insert(Mono::default(), c);
        }
        Poly(m)
    }

    pub fn symbol(name: &str) -> Poly {
        let mono = Mono {
            syms: vec![(name.to_string(), 1)],
            ..Mono::default()
        };
        Poly(BTreeMap::from([(mono, BigRational::one())]))
    }

    pub fn imag() -> Poly {
        let mono = Mono {
            imag: true,
            ..Mono::default()
        };
        Poly(BTreeMap::from([(mono, BigRational::one())]))
    }

    /// An upper bound on the number of terms of `self^n`: a sum of `t` terms has at most
    /// `C(n+t-1, t-1)`, and `v` variables of total degree `<= n d` at most `C(n d + v, v)`.
    /// Radicals and `i` reduce as they multiply, so a polynomial holding them counts as 1.
    pub fn expanded_terms(&self, n: u64) -> f64 {
        let t = self.0.len() as u64;
        if t <= 1 || self.0.keys().any(|m| !m.rad.is_empty() || m.imag) {
            return 1.0;
        }
        let mut vars: Vec<&str> = self
            .0
            .keys()
            .flat_map(|m| m.syms.iter().map(|(x, _)| x.as_str()))
            .collect();
        vars.sort_unstable();
        vars.dedup();
        let degree = self
            .0
            .keys()
            .map(|m| m.syms.iter().map(|(_, e)| *e as u64).sum::<u64>())
            .max()
            .unwrap_or(0);
        let by_terms = ln_binomial((n + t - 1) as f64, t - 1);
        let by_degree = ln_binomial(
            (n as f64) * (degree as f64) + vars.len() as f64,
            vars.len() as u64,
        );
        by_terms.min(by_degree).exp()
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The value when the polynomial is a rational constant.
    pub fn as_constant(&self) -> Option<BigRational> {
        match self.0.len() {
            0 => Some(BigRational::zero()),
            1 => {
                let (m, c) = self.0.iter().next()?;
                m.is_one().then(|| c.clone())
            }
            _ => None,
        }
    }

    pub fn has_symbols(&self) -> bool {
        self.0.keys().any(|m| !m.syms.is_empty())
    }

    pub fn neg(&self) -> Poly {
        Poly(
            self.0
                .iter()
                .map(|(m, c)| (m.clone(), -c.clone()))
                .collect(),
        )
    }

    fn add_term(&mut self, m: Mono, c: BigRational) {
        if c.is_zero() {
            return;
        }
        use std::collections::btree_map::Entry;
        match self.0.entry(m) {
            Entry::Vacant(v) => {
                v.insert(c);
            }
            Entry::Occupied(mut o) => {
                let sum = qadd(o.get(), &c);
                *o.get_mut() = sum;
                if o.get().is_zero() {
                    o.remove();
                }
            }
        }
    }

    pub fn add(&self, other: &Poly, b: &mut Budget) -> Res<Poly> {
        let mut out = self.clone();
        for (m, c) in &other.0 {
            b.tick(1 + bits(c) / 64)?;
            out.add_term(m.clone(), c.clone());
        }
        for c in out.0.values() {
            check_size(c)?;
        }
        Ok(out)
    }

    pub fn sub(&self, other: &Poly, b: &mut Budget) -> Res<Poly> {
        self.add(&other.neg(), b)
    }

    pub fn mul(&self, other: &Poly, b: &mut Budget) -> Res<Poly> {
        let mut out = Poly::zero();
        for (m1, c1) in &self.0 {
            for (m2, c2) in &other.0 {
                b.tick(1 + (bits(c1) + bits(c2)) / 64 + (m1.rad.len() + m2.rad.len()) as u64)?;
                let (f, m) = m1.mul(m2)?;
                let c = if f.is_one() {
                    qmul(c1, c2)
                } else {
                    qmul(&qmul(c1, c2), &f)
                };
                check_size(&c)?;
                out.add_term(m, c);
            }
        }
        Ok(out)
    }

    pub fn scale(&self, k: &BigRational, b: &mut Budget) -> Res<Poly> {
        self.mul(&Poly::constant(k.clone()), b)
    }
}

impl fmt::Display for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "0");
        }
        for (k, (m, c)) in self.0.iter().enumerate() {
            if k > 0 {
                write!(f, " + ")?;
            }
            write!(f, "{c}")?;
            for (p, n, d) in &m.rad {
                write!(f, "*{p}^({n}/{d})")?;
            }
            if m.imag {
                write!(f, "*i")?;
            }
            for (s, e) in &m.syms {
                write!(f, "*{s}^{e}")?;
            }
        }
        Ok(())
    }
}

/// A rational function `num / den` with `den != 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatFn {
    pub num: Poly,
    pub den: Poly,
}

impl fmt::Display for RatFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den.as_constant().is_some_and(|c| c.is_one()) {
            write!(f, "{}", self.num)
        } else {
            write!(f, "({})/({})", self.num, self.den)
        }
    }
}

impl RatFn {
    pub fn from_poly(p: Poly) -> RatFn {
        RatFn {
            num: p,
            den: Poly::constant(BigRational::one()),
        }
    }

    pub fn constant(c: BigRational) -> RatFn {
        RatFn::from_poly(Poly::constant(c))
    }

    pub fn integer(n: i64) -> RatFn {
        RatFn::constant(BigRational::from_integer(BigInt::from(n)))
    }

    /// `true` when the denominator is exactly the constant 1 (the usual case).
    fn den_is_one(&self) -> bool {
        self.den.0.len() == 1
            && self
                .den
                .0
                .iter()
                .next()
                .is_some_and(|(m, c)| m.is_one() && c.is_one())
    }

    /// The constant, without allocating, when this is `c / 1` (`None` for zero or non-constants).
    fn const_ref(&self) -> Option<&BigRational> {
        if self.num.0.len() != 1 || !self.den_is_one() {
            return None;
        }
        let (m, c) = self.num.0.iter().next()?;
        m.is_one().then_some(c)
    }

    /// The rational value, when this is a rational constant.
    pub fn as_rational(&self) -> Option<BigRational> {
        if let Some(c) = self.const_ref() {
            return Some(c.clone());
        }
        let n = self.num.as_constant()?;
        let d = self.den.as_constant()?;
        Some(n / d)
    }

    pub fn is_zero(&self) -> bool {
        self.num.is_zero()
    }

    pub fn has_symbols(&self) -> bool {
        self.num.has_symbols() || self.den.has_symbols()
    }

    /// Keeps the denominator 1 whenever it is a single symbol-free term (rationalising
    /// `1/sqrt(2)` into `sqrt(2)/2` and `1/i` into `-i`), so common answers compare as plain
    /// polynomials.
    fn normalize(mut self, b: &mut Budget) -> Res<RatFn> {
        if self.den_is_one() {
            return Ok(self);
        }
        if self.den.is_zero() {
            return Err(Fail::Invalid);
        }
        if self.num.is_zero() {
            return Ok(RatFn::from_poly(Poly::zero()));
        }
        if self.den.0.len() == 1 {
            let (m, c) = self.den.0.iter().next().expect("one term");
            if m.syms.is_empty() {
                let mut inv_c = c.recip();
                let mut rad = Vec::with_capacity(m.rad.len());
                for (p, n, d) in &m.rad {
                    inv_c /= BigRational::from_integer(BigInt::from(p.clone()));
                    rad.push((p.clone(), d - n, *d));
                }
                if m.imag {
                    inv_c = -inv_c;
                }
                let mut inv = Poly::zero();
                inv.add_term(
                    Mono {
                        rad,
                        imag: m.imag,
                        syms: Vec::new(),
                    },
                    inv_c,
                );
                self.num = self.num.mul(&inv, b)?;
                self.den = Poly::constant(BigRational::one());
            }
        }
        Ok(self)
    }

    pub fn add(&self, o: &RatFn, b: &mut Budget) -> Res<RatFn> {
        if let (Some(x), Some(y)) = (self.const_ref(), o.const_ref()) {
            b.tick(1 + (bits(x) + bits(y)) / 64)?;
            let r = qadd(x, y);
            check_size(&r)?;
            return Ok(RatFn::constant(r));
        }
        if self.den == o.den {
            return RatFn {
                num: self.num.add(&o.num, b)?,
                den: self.den.clone(),
            }
            .normalize(b);
        }
        let num = self.num.mul(&o.den, b)?.add(&o.num.mul(&self.den, b)?, b)?;
        let den = self.den.mul(&o.den, b)?;
        RatFn { num, den }.normalize(b)
    }

    pub fn neg(&self) -> RatFn {
        RatFn {
            num: self.num.neg(),
            den: self.den.clone(),
        }
    }

    pub fn sub(&self, o: &RatFn, b: &mut Budget) -> Res<RatFn> {
        self.add(&o.neg(), b)
    }

    pub fn mul(&self, o: &RatFn, b: &mut Budget) -> Res<RatFn> {
        if let (Some(x), Some(y)) = (self.const_ref(), o.const_ref()) {
            b.tick(1 + (bits(x) + bits(y)) / 64)?;
            let r = qmul(x, y);
            check_size(&r)?;
            return Ok(RatFn::constant(r));
        }
        RatFn {
            num: self.num.mul(&o.num, b)?,
            den: self.den.mul(&o.den, b)?,
        }
        .normalize(b)
    }

    pub fn div(&self, o: &RatFn, b: &mut Budget) -> Res<RatFn> {
        if o.is_zero() {
            return Err(Fail::Invalid);
        }
        if let (Some(x), Some(y)) = (self.const_ref(), o.const_ref()) {
            b.tick(1 + (bits(x) + bits(y)) / 64)?;
            let r = x / y;
            check_size(&r)?;
            return Ok(RatFn::constant(r));
        }
        RatFn {
            num: self.num.mul(&o.den, b)?,
            den: self.den.mul(&o.num, b)?,
        }
        .normalize(b)
    }

    /// `self^n` for an integer `n` (negative allowed), refusing results over the size limit.
    pub fn powi(&self, n: &BigInt, b: &mut Budget) -> Res<RatFn> {
        if n.is_zero() {
            // 0^0 = 1, the convention of combinatorics, Python and SymPy.
            return Ok(RatFn::integer(1));
        }
        if n.is_negative() {
            let pos = self.powi(&-n, b)?;
            return RatFn::integer(1).div(&pos, b);
        }
        // 0, 1, -1 and i have bounded powers whatever the exponent.
        if let Some(c) = self.as_rational() {
            if c.is_zero() || c.is_one() {
                return Ok(self.clone());
            }
            if c == -BigRational::one() {
                return Ok(RatFn::integer(if n.is_even() { 1 } else { -1 }));
            }
            let est = (c.numer().bits().max(c.denom().bits()) as f64 - 1.0).max(0.0)
                * n.to_f64().unwrap_or(f64::INFINITY);
            if est > MAX_BITS as f64 {
                return Err(Fail::TooBig);
            }
        }
        let n = n
            .to_u64()
            .filter(|&n| n <= MAX_SYM_EXP as u64)
            .ok_or(Fail::TooBig)?;
        if *self == RatFn::from_poly(Poly::imag()) {
            let p = match n % 4 {
                0 => Poly::constant(BigRational::one()),
                1 => Poly::imag(),
                2 => Poly::constant(-BigRational::one()),
                _ => Poly::imag().neg(),
            };
            return Ok(RatFn::from_poly(p));
        }
        // Reason about the size before expanding: a sum of many terms to a high power
        // (`(x+y+z+w)^{400}`: ten million terms) cannot be expanded within any budget.
        if self.num.expanded_terms(n).max(self.den.expanded_terms(n)) > MAX_TERMS {
            return Err(Fail::TooBig);
        }
        let mut result = RatFn::integer(1);
        let mut base = self.clone();
        let mut k = n;
        while k > 0 {
            if k & 1 == 1 {
                result = result.mul(&base, b)?;
            }
            k >>= 1;
            if k > 0 {
                base = base.mul(&base, b)?;
            }
        }
        Ok(result)
    }

    /// `true` when the two functions are identical (`a/b = c/d` iff `a*d - c*b = 0`).
    pub fn equals(&self, o: &RatFn, b: &mut Budget) -> Res<bool> {
        if self.den == o.den {
            return Ok(self.num == o.num);
        }
        let l = self.num.mul(&o.den, b)?;
        let r = o.num.mul(&self.den, b)?;
        Ok(l == r)
    }
}

/// The factors of `n` (trial division by small numbers; a leftover cofactor is kept whole, as a
/// perfect power of its root when it is one), as `(base, multiplicity)`.
fn factor(n: &BigUint, b: &mut Budget) -> Res<Vec<(BigUint, u32)>> {
    let mut out = Vec::new();
    let mut n = n.clone();
    if n.is_zero() || n.is_one() {
        return Ok(out);
    }
    let mut p: u32 = 2;
    while p <= 1000 {
        let pb = BigUint::from(p);
        if &pb * &pb > n {
            break;
        }
        b.tick(1 + n.bits() / 64)?;
        let mut k = 0;
        while (&n % &pb).is_zero() {
            n /= &pb;
            k += 1;
        }
        if k > 0 {
            out.push((pb, k));
        }
        p += if p == 2 { 1 } else { 2 };
    }
    if n > BigUint::one() {
        // A leftover that is a perfect power r^k must be stored as r, or sqrt(r^2 * s) would
        // not meet sqrt(s)*r.
        let mut best = (n.clone(), 1u32);
        let max_k = n.bits() as u32;
        for k in (2..=max_k.min(64)).rev() {
            b.tick(1 + n.bits() / 32)?;
            let r = n.nth_root(k);
            if r.pow(k) == n {
                best = (r, k);
                break;
            }
        }
        out.push(best);
    }
    out.sort();
    Ok(out)
}

/// `x^(p/q)` for a positive rational `x` and a reduced exponent with `q >= 2`.
fn positive_root(x: &BigRational, p: &BigInt, q: &BigInt, b: &mut Budget) -> Res<RatFn> {
    let mut coeff = BigRational::one();
    let mut rad: Vec<(BigUint, u32, u32)> = Vec::new();
    let e = BigRational::new(p.clone(), q.clone());
    let num = x.numer().magnitude().clone();
    let den = x.denom().magnitude().clone();
    for (value, sign) in [(num, 1i32), (den, -1i32)] {
        for (f, k) in factor(&value, b)? {
            let ek = &e * BigRational::from_integer(BigInt::from(k as i64 * sign as i64));
            let fl = ek.floor();
            let frac = &ek - &fl;
            let fl_int = fl.to_integer();
            let whole = RatFn::constant(BigRational::from_integer(BigInt::from(f.clone())))
                .powi(&fl_int, b)?
                .as_rational()
                .ok_or(Fail::Invalid)?;
            coeff *= whole;
            if !frac.is_zero() {
                let n = frac.numer().to_u32().ok_or(Fail::TooBig)?;
                let d = frac.denom().to_u32().ok_or(Fail::TooBig)?;
                rad.push((f, n, d));
            }
        }
    }
    check_size(&coeff)?;
    // Bases from numerator and denominator are coprime, but sort/merge to keep the invariant.
    rad.sort();
    let mut mono = Mono::default();
    let mut factor_acc = BigRational::one();
    for r in rad {
        let single = Mono {
            rad: vec![r],
            ..Mono::default()
        };
        let (f, m) = mono.mul(&single)?;
        factor_acc *= f;
        mono = m;
    }
    let mut poly = Poly::zero();
    poly.add_term(mono, coeff * factor_acc);
    Ok(RatFn::from_poly(poly))
}

/// `x^(p/q)` for a rational `x` (exact: square roots of negatives give `i`, odd roots of
/// negatives are real); `None`-like `Invalid` for even roots (q > 2) of negatives.
pub fn rational_power(x: &BigRational, e: &BigRational, b: &mut Budget) -> Res<RatFn> {
    if e.is_integer() {
        return RatFn::constant(x.clone()).powi(&e.to_integer(), b);
    }
    if x.is_zero() {
        return if e.is_positive() {
            Ok(RatFn::integer(0))
        } else {
            Err(Fail::Invalid)
        };
    }
    let (p, q) = (e.numer().clone(), e.denom().clone());
    if q.bits() > 20 {
        return Err(Fail::TooBig);
    }
    if x.is_positive() {
        return positive_root(x, &p, &q, b);
    }
    let mag = positive_root(&x.abs(), &p, &q, b)?;
    if q == BigInt::from(2) {
        // (-x)^(p/2) = i^p * x^(p/2)
        let ip = RatFn::from_poly(Poly::imag()).powi(&p, b)?;
        mag.mul(&ip, b)
    } else if q.is_odd() {
        if p.is_odd() {
            Ok(mag.neg())
        } else {
            Ok(mag)
        }
    } else {
        Err(Fail::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    fn sqrt(n: i64, b: &mut Budget) -> RatFn {
        rational_power(&q(n, 1), &q(1, 2), b).unwrap()
    }

    #[test]
    fn radicals_are_canonical() {
        let mut b = Budget::unlimited();
        let two_sqrt2 = RatFn::integer(2).mul(&sqrt(2, &mut b), &mut b).unwrap();
        assert!(two_sqrt2.equals(&sqrt(8, &mut b), &mut b).unwrap());
        assert!(!sqrt(8, &mut b).equals(&sqrt(2, &mut b), &mut b).unwrap());
        let s6 = sqrt(2, &mut b).mul(&sqrt(3, &mut b), &mut b).unwrap();
        assert!(s6.equals(&sqrt(6, &mut b), &mut b).unwrap());
        // 1/(1+sqrt2) = sqrt2 - 1
        let one = RatFn::integer(1);
        let lhs = one
            .div(&one.add(&sqrt(2, &mut b), &mut b).unwrap(), &mut b)
            .unwrap();
        let rhs = sqrt(2, &mut b).sub(&one, &mut b).unwrap();
        assert!(lhs.equals(&rhs, &mut b).unwrap());
    }

    #[test]
    fn roots_of_negatives_and_cubes() {
        let mut b = Budget::unlimited();
        let i2 = RatFn::from_poly(Poly::imag())
            .mul(&RatFn::integer(2), &mut b)
            .unwrap();
        assert!(sqrt(-4, &mut b).equals(&i2, &mut b).unwrap());
        let c = rational_power(&q(-8, 1), &q(1, 3), &mut b).unwrap();
        assert_eq!(c.as_rational(), Some(q(-2, 1)));
        let r = rational_power(&q(4, 9), &q(-3, 2), &mut b).unwrap();
        assert_eq!(r.as_rational(), Some(q(27, 8)));
        let big =
            BigRational::from_integer(BigInt::from(1_000_003u64) * BigInt::from(1_000_003u64));
        let s = rational_power(&big, &q(1, 2), &mut b).unwrap();
        assert_eq!(s.as_rational(), Some(q(1_000_003, 1)));
    }

    #[test]
    fn huge_powers_are_refused_not_computed() {
        let mut b = Budget::unlimited();
        let r = RatFn::integer(2).powi(&BigInt::from(10u64.pow(9)), &mut b);
        assert_eq!(r, Err(Fail::TooBig));
        let r = RatFn::integer(-1)
            .powi(&BigInt::from(10u64.pow(18)), &mut b)
            .unwrap();
        assert_eq!(r.as_rational(), Some(q(1, 1)));
        let p53 = RatFn::integer(2).powi(&BigInt::from(53), &mut b).unwrap();
        let p53p1 = p53.add(&RatFn::integer(1), &mut b).unwrap();
        assert!(!p53.equals(&p53p1, &mut b).unwrap());
    }

    #[test]
    fn polynomial_identity() {
        let mut b = Budget::unlimited();
        let x = RatFn::from_poly(Poly::symbol("x"));
        let one = RatFn::integer(1);
        let lhs = x
            .add(&one, &mut b)
            .unwrap()
            .powi(&BigInt::from(2), &mut b)
            .unwrap();
        let x2 = x.mul(&x, &mut b).unwrap();
        let two_x = x.mul(&RatFn::integer(2), &mut b).unwrap();
        let rhs = x2.add(&two_x, &mut b).unwrap().add(&one, &mut b).unwrap();
        assert!(lhs.equals(&rhs, &mut b).unwrap());
        assert!(!lhs.equals(&x2, &mut b).unwrap());
    }
}
