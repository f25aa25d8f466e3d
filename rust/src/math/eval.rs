//! Evaluating expression trees into exact values, and deciding equivalence.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive};

use super::budget::{Budget, Fail, Res, MAX_BITS};
use super::parse::{expand_pm, log2_abs, Node, RelOp};
use super::poly::{rational_power, Poly, RatFn};
use super::products;

/// The exact value of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Num(RatFn),
    /// Tuple or interval with its brackets (`(a, b)` is both an open interval and a pair).
    Seq(u8, u8, Vec<Val>),
    /// Order-insensitive collection: `\{...\}`, bare lists `a, b`, the branches of `\pm`.
    Set(Vec<Val>),
    /// `a : b`: equal to any proportional ratio (a two-term ratio also to the number a/b).
    Ratio(Vec<RatFn>),
    Union(Vec<Val>),
    Matrix(Vec<Vec<Val>>),
    Rel(Vec<RelOp>, Vec<Val>),
}

fn symbol(name: &str) -> RatFn {
    RatFn::from_poly(Poly::symbol(name))
}

/// An opaque atom (`sin(x)`, `x^(1/2)`): equal only to the same function of an equal argument,
/// since the argument's printed canonical form is part of the symbol's name.
fn atom(f: &str, args: &[&RatFn]) -> RatFn {
    let inner: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    symbol(&format!("{f}({})", inner.join(";")))
}

pub fn eval(n: &Node, b: &mut Budget) -> Res<Val> {
    b.tick(1)?;
    Ok(match n {
        Node::Seq(o, c, items) => Val::Seq(*o, *c, eval_all(items, b)?),
        Node::Set(items) => Val::Set(eval_all(items, b)?),
        Node::Union(items) => Val::Union(eval_all(items, b)?),
        Node::Matrix(rows) => Val::Matrix(
            rows.iter()
                .map(|r| eval_all(r, b))
                .collect::<Res<Vec<_>>>()?,
        ),
        Node::Rel(ops, terms) => Val::Rel(ops.clone(), eval_all(terms, b)?),
        Node::Ratio(terms) => Val::Ratio(
            terms
                .iter()
                .map(|t| scalar(t, b))
                .collect::<Res<Vec<_>>>()?,
        ),
        _ => {
            let branches = expand_pm(n)?;
            if branches.len() == 1 {
                Val::Num(scalar(n, b)?)
            } else {
                Val::Set(
                    branches
                        .iter()
                        .map(|x| scalar(x, b).map(Val::Num))
                        .collect::<Res<_>>()?,
                )
            }
        }
    })
}

fn eval_all(items: &[Node], b: &mut Budget) -> Res<Vec<Val>> {
    items.iter().map(|x| eval(x, b)).collect()
}

fn int_value(r: &RatFn) -> Option<BigInt> {
    r.as_rational()
        .filter(|q| q.is_integer())
        .map(|q| q.to_integer())
}

/// The value of a scalar expression (no tuples or sets inside arithmetic).
pub fn scalar(n: &Node, b: &mut Budget) -> Res<RatFn> {
    b.tick(1)?;
    match n {
        Node::Int(x) => Ok(RatFn::constant(BigRational::from_integer(x.clone()))),
        Node::Num(q) => Ok(RatFn::constant(q.clone())),
        Node::LitFrac(p, q) => Ok(RatFn::constant(BigRational::new(p.clone(), q.clone()))),
        Node::Sym(s) => Ok(symbol(s)),
        Node::Imag => Ok(RatFn::from_poly(Poly::imag())),
        Node::Neg(a) => Ok(scalar(a, b)?.neg()),
        Node::Add(x, y) => scalar(x, b)?.add(&scalar(y, b)?, b),
        Node::Sub(x, y) => scalar(x, b)?.sub(&scalar(y, b)?, b),
        Node::Mul(x, y) => scalar(x, b)?.mul(&scalar(y, b)?, b),
        Node::Div(x, y) => {
            if let (Node::Fact(a), Node::Fact(c)) = (x.as_ref(), y.as_ref()) {
                if let Some(q) = factorial_ratio(a, c, b)? {
                    return Ok(q);
                }
            }
            scalar(x, b)?.div(&scalar(y, b)?, b)
        }
        Node::Pow(x, y) => power(&scalar(x, b)?, &scalar(y, b)?, b),
        Node::Fact(x) => {
            let v = scalar(x, b)?;
            match int_value(&v) {
                Some(k) if !k.is_negative() => factorial(&k, b),
                Some(_) => Err(Fail::Invalid),
                None => Ok(atom("fact", &[&v])),
            }
        }
        Node::Binom(x, y) => {
            let (nv, kv) = (scalar(x, b)?, scalar(y, b)?);
            match (int_value(&nv), int_value(&kv)) {
                (Some(nn), Some(kk)) => binom(&nn, &kk, b),
                _ => Ok(atom("binom", &[&nv, &kv])),
            }
        }
        Node::Abs(x) => {
            let v = scalar(x, b)?;
            match v.as_rational() {
                Some(q) => Ok(RatFn::constant(q.abs())),
                None => Ok(atom("abs", &[&v])),
            }
        }
        Node::Log(base, x) => {
            let (bv, xv) = (scalar(base, b)?, scalar(x, b)?);
            if let (Some(bq), Some(xq)) = (bv.as_rational(), xv.as_rational()) {
                if let Some(k) = exact_log(&bq, &xq, b)? {
                    return Ok(RatFn::constant(k));
                }
            }
            // log_b x = ln x / ln b keeps \log_2 3 equal to \frac{\ln 3}{\ln 2}.
            let lx = atom("ln", &[&xv]);
            let lb = atom("ln", &[&bv]);
            lx.div(&lb, b)
        }
        Node::Func(f, x) => {
            let v = scalar(x, b)?;
            if f == "ln" && v.as_rational().is_some_and(|q| q.is_one()) {
                return Ok(RatFn::integer(0));
            }
            if f == "ln" && v == symbol("e") {
                return Ok(RatFn::integer(1));
            }
            Ok(atom(f, &[&v]))
        }
        _ => Err(Fail::Invalid),
    }
}

/// `k` with `base^k = x` for rationals, when `k` is a small rational (`\log_4 8 = 3/2`).
fn exact_log(base: &BigRational, x: &BigRational, b: &mut Budget) -> Res<Option<BigRational>> {
    if !base.is_positive() || base.is_one() || !x.is_positive() {
        return Ok(None);
    }
    // The sizes suggest the exponent (`\log_2 2^{100000}`): check its neighbours exactly.
    let log = |r: &BigRational| log2_abs(r.numer()) - log2_abs(r.denom());
    let guess = log(x) / log(base);
    if guess.is_finite() && guess.abs() > 64.0 {
        for q in 1..=6i64 {
            let p = (guess * q as f64).round();
            if p.abs() > 1e7 {
                break;
            }
            let k = BigRational::new(BigInt::from(p as i64), BigInt::from(q));
            let lhs = RatFn::constant(base.clone()).powi(&BigInt::from(p as i64), b);
            let rhs = RatFn::constant(x.clone()).powi(&BigInt::from(q), b);
            if let (Ok(l), Ok(r)) = (lhs, rhs) {
                if l == r {
                    return Ok(Some(k));
                }
            }
        }
    }
    for q in 1..=6i64 {
        for p in -64..=64i64 {
            b.tick(4)?;
            let k = BigRational::new(BigInt::from(p), BigInt::from(q));
            if k.denom() != &BigInt::from(q) {
                continue;
            }
            // base^(p/q) = x  <=>  base^p = x^q (both positive)
            let lhs = RatFn::constant(base.clone()).powi(&BigInt::from(p), b);
            let rhs = RatFn::constant(x.clone()).powi(&BigInt::from(q), b);
            if let (Ok(l), Ok(r)) = (lhs, rhs) {
                if l == r {
                    return Ok(Some(k));
                }
            }
        }
    }
    Ok(None)
}

fn power(base: &RatFn, e: &RatFn, b: &mut Budget) -> Res<RatFn> {
    if let Some(eq) = e.as_rational() {
        if eq.is_integer() {
            return base.powi(&eq.to_integer(), b);
        }
        if let Some(bq) = base.as_rational() {
            return rational_power(&bq, &eq, b);
        }
        // A nested radical (`\sqrt{\sqrt{2}}`, `(2\sqrt[3]{3})^{1/2}`): a positive rational
        // times radicals of primes, each raised on its own.
        if let Some((c, rad)) = radical_monomial(base) {
            let mut acc = rational_power(&c, &eq, b)?;
            for (p, n, d) in rad {
                let k = &eq * BigRational::new(BigInt::from(n), BigInt::from(d));
                let p = BigRational::from_integer(BigInt::from(p));
                acc = acc.mul(&rational_power(&p, &k, b)?, b)?;
            }
            return Ok(acc);
        }
    }
    Ok(atom("pow", &[base, e]))
}

/// Radicals of a monomial: `(p, n, d)` is `p^(n/d)`.
type Radicals = Vec<(num_bigint::BigUint, u32, u32)>;

/// `c * prod p^(n/d)` with `c > 0` rational and no symbols or `i`, as its parts.
fn radical_monomial(r: &RatFn) -> Option<(BigRational, Radicals)> {
    if !r.den.as_constant().is_some_and(|c| c.is_one()) || r.num.0.len() != 1 {
        return None;
    }
    let (m, c) = r.num.0.iter().next()?;
    (c.is_positive() && !m.imag && m.syms.is_empty()).then(|| (c.clone(), m.rad.clone()))
}

/// `a! / c!` as the product of the integers between them when they are near each other
/// (`\frac{100000!}{99999!}` is 100000 although 100000! itself is too big to compute).
fn factorial_ratio(a: &Node, c: &Node, b: &mut Budget) -> Res<Option<RatFn>> {
    let (av, cv) = (scalar(a, b)?, scalar(c, b)?);
    let (Some(a), Some(c)) = (int_value(&av), int_value(&cv)) else {
        return Ok(None);
    };
    if a.is_negative() || c.is_negative() || (&a - &c).abs() > BigInt::from(100_000) {
        return Ok(None);
    }
    let (lo, hi) = if a >= c { (&c, &a) } else { (&a, &c) };
    let mut acc = BigInt::one();
    let mut k = lo + 1;
    while &k <= hi {
        b.tick(1 + acc.bits() / 64)?;
        acc *= &k;
        if acc.bits() > MAX_BITS {
            return Err(Fail::TooBig);
        }
        k += 1;
    }
    let acc = BigRational::from_integer(acc);
    Ok(Some(RatFn::constant(if a >= c {
        acc
    } else {
        acc.recip()
    })))
}

fn factorial(n: &BigInt, b: &mut Budget) -> Res<RatFn> {
    let n = n.to_u64().ok_or(Fail::TooBig)?;
    // log2(n!) < n log2 n: refuse before computing.
    if n > 2 && (n as f64) * (n as f64).log2() > 1.5 * MAX_BITS as f64 {
        return Err(Fail::TooBig);
    }
    let mut acc = BigInt::one();
    for k in 2..=n {
        b.tick(1 + acc.bits() / 64)?;
        acc *= k;
        if acc.bits() > MAX_BITS {
            return Err(Fail::TooBig);
        }
    }
    Ok(RatFn::constant(BigRational::from_integer(acc)))
}

fn binom(n: &BigInt, k: &BigInt, b: &mut Budget) -> Res<RatFn> {
    if k.is_negative() || n.is_negative() || k > n {
        return Ok(RatFn::integer(0));
    }
    let k = k.min(&(n - k)).clone();
    let k = k.to_u64().ok_or(Fail::TooBig)?;
    // C(n, k) >= (n/k)^k: refuse before multiplying out what cannot fit.
    let nf = n.to_f64().unwrap_or(f64::INFINITY);
    if k > 0 && (k as f64) * (nf / k as f64).log2() > MAX_BITS as f64 {
        return Err(Fail::TooBig);
    }
    if k > 1000 && nf <= 1e6 {
        return binom_by_primes(n.to_u64().expect("at most a million"), k, b);
    }
    let mut acc = BigInt::one();
    for j in 0..k {
        b.tick(1 + acc.bits() / 64)?;
        acc = acc * (n - BigInt::from(j)) / BigInt::from(j + 1);
        if acc.bits() > MAX_BITS {
            return Err(Fail::TooBig);
        }
    }
    Ok(RatFn::constant(BigRational::from_integer(acc)))
}

/// `C(n, k)` as the product of its prime powers (Legendre: the exponent of `p` is the sum over
/// `i` of `n/p^i - k/p^i - (n-k)/p^i`, rounded down), multiplied as a balanced tree: a few
/// products of large numbers instead of `k` products of a large number by a small one
/// (`\binom{100000}{50000}` in about a millisecond instead of thirty).
fn binom_by_primes(n: u64, k: u64, b: &mut Budget) -> Res<RatFn> {
    let mut factors: Vec<BigInt> =
        products::legendre_exponents(n, b, |q| n / q - k / q - (n - k) / q)?
            .into_iter()
            .map(|(p, e)| num_traits::pow(BigInt::from(p), e as usize))
            .collect();
    while factors.len() > 1 {
        let mut next = Vec::with_capacity(factors.len().div_ceil(2));
        for pair in factors.chunks(2) {
            match pair {
                [x, y] => {
                    b.tick(1 + (x.bits() + y.bits()) / 64)?;
                    next.push(x * y);
                }
                [x] => next.push(x.clone()),
                _ => unreachable!("chunks of two"),
            }
        }
        factors = next;
    }
    let acc = factors.pop().unwrap_or_else(BigInt::one);
    if acc.bits() > MAX_BITS {
        return Err(Fail::TooBig);
    }
    Ok(RatFn::constant(BigRational::from_integer(acc)))
}

fn is_lone_symbol(v: &Val) -> bool {
    match v {
        Val::Num(r) => {
            r.den.as_constant().is_some_and(|c| c.is_one())
                && r.num.0.len() == 1
                && r.num.0.iter().all(|(m, c)| {
                    c.is_one()
                        && m.rad.is_empty()
                        && !m.imag
                        && m.syms.len() == 1
                        && m.syms[0].1 == 1
                        && !matches!(m.syms[0].0.as_str(), "pi" | "e" | "inf")
                        && !m.syms[0].0.contains('(')
                })
        }
        _ => false,
    }
}

/// `x > 2` -> `(2, inf)`, `1 \le x < 3` -> `[1, 3)`; `None` for other relations.
fn relation_as_interval(ops: &[RelOp], terms: &[Val]) -> Option<Val> {
    let inf = || Val::Num(symbol("inf"));
    let ninf = || Val::Num(symbol("inf").neg());
    let strict = |op: RelOp| matches!(op, RelOp::Lt | RelOp::Gt);
    match (ops, terms) {
        ([op], [l, r]) if is_lone_symbol(l) && !is_lone_symbol(r) => {
            let r = r.clone();
            match op {
                RelOp::Lt | RelOp::Le => Some(Val::Seq(
                    b'(',
                    if strict(*op) { b')' } else { b']' },
                    vec![ninf(), r],
                )),
                RelOp::Gt | RelOp::Ge => Some(Val::Seq(
                    if strict(*op) { b'(' } else { b'[' },
                    b')',
                    vec![r, inf()],
                )),
                RelOp::In => Some(r),
                _ => None,
            }
        }
        ([op], [l, r]) if is_lone_symbol(r) && !is_lone_symbol(l) => {
            let flipped = match op {
                RelOp::Lt => RelOp::Gt,
                RelOp::Le => RelOp::Ge,
                RelOp::Gt => RelOp::Lt,
                RelOp::Ge => RelOp::Le,
                _ => return None,
            };
            relation_as_interval(&[flipped], &[r.clone(), l.clone()])
        }
        ([o1, o2], [a, x, c]) if is_lone_symbol(x) => {
            let lt = |o: &RelOp| matches!(o, RelOp::Lt | RelOp::Le);
            let gt = |o: &RelOp| matches!(o, RelOp::Gt | RelOp::Ge);
            if lt(o1) && lt(o2) {
                Some(Val::Seq(
                    if strict(*o1) { b'(' } else { b'[' },
                    if strict(*o2) { b')' } else { b']' },
                    vec![a.clone(), c.clone()],
                ))
            } else if gt(o1) && gt(o2) {
                Some(Val::Seq(
                    if strict(*o2) { b'(' } else { b'[' },
                    if strict(*o1) { b')' } else { b']' },
                    vec![c.clone(), a.clone()],
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A name on the left of `=`: a variable (`x`), or a function of one (`f(x)`, `S(n)`, read
/// by the parser as the product `f*x`): a monomial with coefficient 1 of at most two distinct
/// free variables, each to the first power.
fn is_name(v: &Val) -> bool {
    if is_lone_symbol(v) {
        return true;
    }
    // A tuple of variables (`(p, q) = (3, 2)`) or a ratio of them (`S_1 : S_2 = 7 : 32`).
    match v {
        Val::Seq(b'(', b')', items) if items.len() >= 2 => return items.iter().all(is_lone_symbol),
        Val::Ratio(items) => return items.iter().all(|r| is_lone_symbol(&Val::Num(r.clone()))),
        _ => {}
    }
    let Val::Num(r) = v else { return false };
    r.den.as_constant().is_some_and(|c| c.is_one())
        && r.num.0.len() == 1
        && r.num.0.iter().all(|(m, c)| {
            c.is_one()
                && m.rad.is_empty()
                && !m.imag
                && m.syms.len() == 2
                && m.syms.iter().all(|(name, e)| {
                    *e == 1 && !matches!(name.as_str(), "pi" | "e" | "inf") && !name.contains('(')
                })
        })
}

/// `l = r` unwrapped to `r` when `l` names the answer (`x = 2`, `y = 2x + 1`, `f(x) = x^2`).
fn equation_rhs(v: &Val) -> Option<&Val> {
    match v {
        Val::Rel(ops, terms) if ops == &[RelOp::Eq] && is_name(&terms[0]) => Some(&terms[1]),
        _ => None,
    }
}

/// Are `gold` and `answer` the same mathematical object?
pub fn equivalent(gold: &Val, answer: &Val, b: &mut Budget) -> Res<bool> {
    b.tick(1)?;
    match (gold, answer) {
        (Val::Num(x), Val::Num(y)) => x.equals(y, b),
        (Val::Rel(o1, t1), Val::Rel(o2, t2)) => {
            if let (Some(i1), Some(i2)) =
                (relation_as_interval(o1, t1), relation_as_interval(o2, t2))
            {
                return equivalent(&i1, &i2, b);
            }
            if o1 == &[RelOp::Eq] && o2 == &[RelOp::Eq] {
                return equations_equivalent(t1, t2, b);
            }
            if o1 != o2 || t1.len() != t2.len() {
                return Ok(false);
            }
            pairwise(t1, t2, b)
        }
        (Val::Rel(ops, terms), other) | (other, Val::Rel(ops, terms)) => {
            let rel = Val::Rel(ops.clone(), terms.clone());
            if let Some(rhs) = equation_rhs(&rel) {
                return equivalent(rhs, other, b);
            }
            match relation_as_interval(ops, terms) {
                Some(iv) if !matches!(other, Val::Num(_)) => equivalent(&iv, other, b),
                _ => Ok(false),
            }
        }
        (Val::Set(xs), Val::Set(ys)) => set_equal(xs, ys, b),
        (Val::Union(xs), Val::Union(ys)) => unordered(xs, ys, b),
        (Val::Ratio(xs), Val::Ratio(ys)) => proportional(xs, ys, b),
        (Val::Ratio(xs), Val::Num(y)) | (Val::Num(y), Val::Ratio(xs)) if xs.len() == 2 => {
            if xs[1].is_zero() {
                return Ok(false);
            }
            xs[0].div(&xs[1], b)?.equals(y, b)
        }
        (Val::Set(xs), y) | (y, Val::Set(xs)) if xs.len() == 1 => equivalent(&xs[0], y, b),
        (Val::Union(xs), y) | (y, Val::Union(xs)) if xs.len() == 1 => equivalent(&xs[0], y, b),
        (Val::Seq(o1, c1, xs), Val::Seq(o2, c2, ys)) => {
            if o1 != o2 || c1 != c2 || xs.len() != ys.len() {
                return Ok(false);
            }
            pairwise(xs, ys, b)
        }
        (Val::Matrix(r1), Val::Matrix(r2)) => {
            if r1.len() != r2.len() {
                return Ok(false);
            }
            for (x, y) in r1.iter().zip(r2) {
                if x.len() != y.len() || !pairwise(x, y, b)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn pairwise(xs: &[Val], ys: &[Val], b: &mut Budget) -> Res<bool> {
    for (x, y) in xs.iter().zip(ys) {
        if !equivalent(x, y, b)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The gold's list of solutions against the answer's: as multisets, except that an answer
/// repeating a solution of a gold that lists each solution once is not wrong for it (`(3,17),
/// (3,17), (17,3)` for `(3,17), (17,3)`). More distinct items than the gold is never equal.
fn set_equal(gold: &[Val], answer: &[Val], b: &mut Budget) -> Res<bool> {
    if answer.len() <= gold.len() {
        return unordered(gold, answer, b);
    }
    let answer = distinct(answer, b)?;
    if answer.len() != gold.len() || distinct(gold, b)?.len() != gold.len() {
        return Ok(false);
    }
    unordered(gold, &answer, b)
}

/// The items of `xs` with later repeats (equivalent to an earlier item) left out.
fn distinct(xs: &[Val], b: &mut Budget) -> Res<Vec<Val>> {
    let mut out: Vec<Val> = Vec::with_capacity(xs.len());
    'next: for x in xs {
        for y in &out {
            if equivalent(y, x, b)? {
                continue 'next;
            }
        }
        out.push(x.clone());
    }
    Ok(out)
}

/// `x_1 : ... : x_n` equals `y_1 : ... : y_n` when the two are proportional (neither all zero).
fn proportional(xs: &[RatFn], ys: &[RatFn], b: &mut Budget) -> Res<bool> {
    if xs.len() != ys.len() || xs.iter().all(RatFn::is_zero) || ys.iter().all(RatFn::is_zero) {
        return Ok(false);
    }
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            if !xs[i].mul(&ys[j], b)?.equals(&xs[j].mul(&ys[i], b)?, b)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Multiset equality; greedy matching is exact because equivalence is transitive.
fn unordered(xs: &[Val], ys: &[Val], b: &mut Budget) -> Res<bool> {
    if xs.len() != ys.len() {
        return Ok(false);
    }
    let mut used = vec![false; ys.len()];
    'outer: for x in xs {
        for (k, y) in ys.iter().enumerate() {
            if !used[k] && equivalent(x, y, b)? {
                used[k] = true;
                continue 'outer;
            }
        }
        return Ok(false);
    }
    Ok(true)
}

/// Two equations are equivalent when their sides match, or `l1 - r1 = c (l2 - r2)` for a
/// nonzero rational `c` (`2x + 2y = 2` and `y = 1 - x`).
fn equations_equivalent(t1: &[Val], t2: &[Val], b: &mut Budget) -> Res<bool> {
    let (Val::Num(l1), Val::Num(r1), Val::Num(l2), Val::Num(r2)) = (&t1[0], &t1[1], &t2[0], &t2[1])
    else {
        return pairwise(t1, t2, b);
    };
    if l1.equals(l2, b)? && r1.equals(r2, b)? {
        return Ok(true);
    }
    let d1 = l1.sub(r1, b)?;
    let d2 = l2.sub(r2, b)?;
    if d1.is_zero() || d2.is_zero() {
        return Ok(d1.is_zero() && d2.is_zero());
    }
    // d1 * d2.den / d1.den vs d2: compare the numerators of d1 * d2.den and d2 * d1.den.
    let n1 = d1.num.mul(&d2.den, b)?;
    let n2 = d2.num.mul(&d1.den, b)?;
    if n1.0.len() != n2.0.len() || !n1.0.keys().eq(n2.0.keys()) {
        return Ok(false);
    }
    let mut ratio: Option<BigRational> = None;
    for (c1, c2) in n1.0.values().zip(n2.0.values()) {
        b.tick(1)?;
        let q = c1 / c2;
        match &ratio {
            None => ratio = Some(q),
            Some(r) if *r == q => {}
            Some(_) => return Ok(false),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::normalize::normalize;
    use crate::math::parse::parse;

    fn v(s: &str) -> Val {
        let mut b = Budget::unlimited();
        let n = normalize(s, &mut b).unwrap();
        eval(&parse(&n, &mut b).unwrap(), &mut b).unwrap()
    }

    fn eq(a: &str, c: &str) -> bool {
        equivalent(&v(a), &v(c), &mut Budget::unlimited()).unwrap()
    }

    #[test]
    fn numbers() {
        assert!(eq("1/2", r"\frac{1}{2}"));
        assert!(eq("0.5", r"\dfrac12"));
        assert!(eq(r"2\frac{1}{2}", "5/2"));
        assert!(eq("1.5e3", "1500"));
        assert!(eq(r"1.5 \times 10^{3}", "1500"));
        assert!(!eq("0.30000000000000004", "0.3"));
        assert!(!eq("2^{53}+1", "2^{53}"));
        assert!(!eq("123456789012345678", "123456789012345679"));
        assert!(!eq("1/2004!", "1/2006!"));
        assert!(!eq("1/2^{99}", "1/2^{98}"));
        assert!(eq("-3", "-(3)"));
    }

    #[test]
    fn radicals_constants_complex() {
        assert!(eq(r"2\sqrt{2}", r"\sqrt{8}"));
        assert!(eq(r"\frac{1}{\sqrt2}", r"\frac{\sqrt{2}}{2}"));
        assert!(eq(r"\sqrt[3]{16}", r"2\sqrt[3]{2}"));
        assert!(eq(r"2\pi", r"\pi \cdot 2"));
        assert!(!eq(r"\pi", "3.14159"));
        assert!(eq("(1+i)^2", "2i"));
        assert!(eq(r"\frac{1}{i}", "-i"));
        assert!(eq("e^2", "e \\cdot e"));
        assert!(eq(r"\log_2 8", "3"));
    }

    #[test]
    fn expressions_and_structures() {
        assert!(eq("(x+1)^2", "x^2+2x+1"));
        assert!(!eq("(x+1)^2", "x^2+1"));
        assert!(eq(r"\frac{x^2-1}{x-1}", "x+1"));
        assert!(eq("(1,2)", "(1, 2)"));
        assert!(!eq("(1,2)", "[1,2]"));
        assert!(!eq("(1,2)", "(2,1)"));
        assert!(eq(r"\{1,2\}", r"\{2,1\}"));
        assert!(eq("1, 2", "2, 1"));
        assert!(eq(
            r"(-\infty, 0) \cup (1, \infty)",
            r"(1,\infty)\cup(-\infty,0)"
        ));
        assert!(eq("x=2", "2"));
        assert!(eq("y = 2x+1", "2x+1"));
        assert!(eq("f(x) = x^2", "x^2"));
        assert!(eq("2^{n-1}", "S(n) = 2^{n-1}"));
        assert!(!eq("2x = 4", "4"));
        assert!(!eq("x^2 = 4", "4"));
        assert!(eq("x > 2", r"(2, \infty)"));
        assert!(eq(r"1 \le x < 3", "[1, 3)"));
        assert!(eq("2x+2y=2", "y=1-x"));
        assert!(eq(r"1 \pm \sqrt{2}", r"1+\sqrt2, 1-\sqrt2"));
        assert!(eq(
            r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
            r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}"
        ));
        assert!(!eq(
            r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}",
            r"\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}"
        ));
        assert!(eq("123_5", "38"));
        assert!(eq("+5", "5"));
        assert!(eq(r"30^\circ", "30"));
        assert!(eq(r"\$1{,}000", "1000"));
    }
}
