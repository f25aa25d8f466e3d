//! What a judge says about one sample.

/// A judge's decision, with the same integer values as Python's `cgpo.judges.Verdict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum Verdict {
    Satisfied = 1,
    Violated = 0,
    /// The judge could not decide (internal failure, exhausted budget): never silently a 0.
    Error = -1,
}

/// A verdict with a machine-readable reason code (`"ok"`, `"no_answer"`, `"timeout"`, ...) and a
/// short human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub reason: String,
    pub detail: String,
}

impl Outcome {
    pub fn new(verdict: Verdict, reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Outcome {
            verdict,
            reason: reason.into(),
            detail: detail.into(),
        }
    }

    pub fn satisfied(reason: impl Into<String>) -> Self {
        Self::new(Verdict::Satisfied, reason, String::new())
    }

    pub fn violated(reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Verdict::Violated, reason, detail)
    }

    pub fn error(reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Verdict::Error, reason, detail)
    }
}
