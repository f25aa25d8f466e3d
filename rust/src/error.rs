//! The one error type of the Rust core.
//!
//! It separates "the caller's input is wrong" (the binding layer raises
//! `cgpo.InvalidInputError`) from "the core is broken" (`cgpo.JudgeInternalError`). A wrong
//! *answer* is never an error: judges report it as [`crate::Verdict::Violated`].

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The input is malformed: names the sample (when there is one), the field and what is wrong.
    InvalidInput {
        index: Option<usize>,
        key: String,
        message: String,
    },
    /// An invariant of the core was broken (a bug, or a panic caught at the boundary).
    Internal(String),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::InvalidInput {
            index: None,
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn invalid_at(index: usize, key: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::InvalidInput {
            index: Some(index),
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::InvalidInput {
                index: Some(i),
                key,
                message,
            } => write!(f, "sample {i}: `{key}`: {message}"),
            CoreError::InvalidInput {
                index: None,
                key,
                message,
            } => write!(f, "`{key}`: {message}"),
            CoreError::Internal(message) => write!(f, "internal error: {message}"),
        }
    }
}

impl std::error::Error for CoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_sample_and_the_key() {
        let e = CoreError::invalid_at(3, "answer", "must be a string");
        assert_eq!(e.to_string(), "sample 3: `answer`: must be a string");
        assert_eq!(
            CoreError::invalid("kl_max", "must be > 0").to_string(),
            "`kl_max`: must be > 0"
        );
    }
}
