//! Bounded cost: every decision carries a [`Budget`] of work units and a wall-clock deadline.
//!
//! Work is counted where it happens (tokens scanned, big-number limbs multiplied, polynomial
//! terms combined); the clock is read only every few hundred units, so the check is cheap and
//! needs no signals or threads. Running out is an error value ([`Fail::Budget`]) that the judge
//! reports as `Verdict::Error` with reason `budget_exceeded`, never as a wrong answer.

use std::time::{Duration, Instant};

/// Why an answer could not be turned into an exact value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// The work or time budget ran out.
    Budget,
    /// A number would exceed the size limit (an exponent tower, a huge factorial).
    TooBig,
    /// Not a mathematical expression we can evaluate (text, division by zero, syntax error).
    Invalid,
}

pub type Res<T> = Result<T, Fail>;

#[derive(Debug)]
pub struct Budget {
    steps: u64,
    max_steps: u64,
    deadline: Option<Instant>,
    since_clock: u32,
}

/// Largest number, in bits, that a numerator or denominator may reach (an exact 2006! has ~19k).
pub const MAX_BITS: u64 = 1 << 17;

impl Budget {
    /// A budget of `time` wall clock and `max_steps` work units, whichever runs out first.
    pub fn new(time: Duration, max_steps: u64) -> Self {
        Budget {
            steps: 0,
            max_steps,
            deadline: Instant::now().checked_add(time),
            since_clock: 0,
        }
    }

    /// An unlimited budget (tests and the benchmark's reference points).
    pub fn unlimited() -> Self {
        Budget {
            steps: 0,
            max_steps: u64::MAX,
            deadline: None,
            since_clock: 0,
        }
    }

    /// Spends `n` work units; fails once the step count or the deadline is passed.
    #[inline]
    pub fn tick(&mut self, n: u64) -> Res<()> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            return Err(Fail::Budget);
        }
        self.since_clock = self
            .since_clock
            .saturating_add(n.min(u32::MAX as u64) as u32);
        if self.since_clock >= 512 {
            self.since_clock = 0;
            if let Some(d) = self.deadline {
                if Instant::now() >= d {
                    return Err(Fail::Budget);
                }
            }
        }
        Ok(())
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_limit_is_enforced() {
        let mut b = Budget::new(Duration::from_secs(10), 100);
        assert!(b.tick(60).is_ok());
        assert_eq!(b.tick(60), Err(Fail::Budget));
    }

    #[test]
    fn deadline_is_enforced() {
        let mut b = Budget::new(Duration::from_millis(0), u64::MAX);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(b.tick(1000), Err(Fail::Budget));
    }
}
