//! Sample selection for CGPO's three optimizers: calibrated rewards, CRPG weights, CRRAFT's
//! best-per-prompt pick and CODPO's (chosen, rejected) pairs.
//!
//! Every input slice has one entry per sampled response. `group_ids` says which prompt a response
//! belongs to; per-group results come back in ascending group-id order, and among equal values
//! the lowest sample index wins. `satisfied` holds the Mixture of Judges' verdicts with the
//! values of [`crate::Verdict`]: 1 satisfied, 0 violated, -1 error. An error sample is left out
//! of the group-wise selections (never chosen, never rejected); [`crpg_weights`] refuses it,
//! because a per-sample weight cannot say "leave me out".

mod groups;

use rayon::prelude::*;

use crate::error::{CoreError, CoreResult};
use groups::fold_groups;

/// Below this many responses the work is done on the calling thread: spawning rayon tasks costs
/// more than the arithmetic.
const PARALLEL_MIN: usize = 1 << 15;

fn parallel(n: usize) -> bool {
    n >= PARALLEL_MIN && crate::batch::parallelism()
}

const SATISFIED: i8 = 1;
const VIOLATED: i8 = 0;
const ERROR: i8 = -1;

fn check_nonempty(key: &str, n: usize) -> CoreResult<()> {
    if n == 0 {
        return Err(CoreError::invalid(
            key,
            "is empty: selection needs at least one response",
        ));
    }
    Ok(())
}

fn check_len(key: &str, len: usize, ref_key: &str, n: usize) -> CoreResult<()> {
    if len != n {
        return Err(CoreError::invalid(
            key,
            format!("has {len} entries but `{ref_key}` has {n}; give one entry per response"),
        ));
    }
    Ok(())
}

fn check_finite(key: &str, values: &[f64]) -> CoreResult<()> {
    // Cheap vectorised scan first; locate the offending sample only when there is one.
    if values.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    let i = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    let what = if values[i].is_nan() {
        "NaN"
    } else {
        "infinite"
    };
    Err(CoreError::invalid_at(
        i,
        key,
        format!("is {what}; rewards and log-ratios must be finite"),
    ))
}

fn check_verdicts(values: &[i8], allow_error: bool) -> CoreResult<()> {
    let ok = |v: &i8| *v == SATISFIED || *v == VIOLATED || (allow_error && *v == ERROR);
    if values.iter().all(ok) {
        return Ok(());
    }
    let i = values.iter().position(|v| !ok(v)).unwrap_or(0);
    let message = if values[i] == ERROR {
        "is -1 (Verdict.ERROR): a weight cannot leave a sample out; drop ERROR samples first \
         or count them as violated (0)"
            .to_string()
    } else {
        format!(
            "is {}; expected 1 (satisfied), 0 (violated) or -1 (error)",
            values[i]
        )
    };
    Err(CoreError::invalid_at(i, "satisfied", message))
}

fn check_kl_max(kl_max: f64) -> CoreResult<()> {
    // +inf is allowed: "no KL bound".
    if kl_max.is_nan() || kl_max <= 0.0 {
        return Err(CoreError::invalid(
            "kl_max",
            format!("must be > 0 (the KL bound), got {kl_max}"),
        ));
    }
    Ok(())
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn map_indexed(n: usize, f: impl Fn(usize) -> f64 + Sync + Send) -> Vec<f64> {
    if parallel(n) {
        (0..n).into_par_iter().map(f).collect()
    } else {
        (0..n).map(f).collect()
    }
}

/// `sigmoid(r - r_baseline)`: the reward model's probability that the response beats the
/// prompt's baseline response.
pub fn calibrated_reward(rewards: &[f64], baseline_rewards: &[f64]) -> CoreResult<Vec<f64>> {
    let n = rewards.len();
    check_nonempty("rewards", n)?;
    check_len("baseline_rewards", baseline_rewards.len(), "rewards", n)?;
    check_finite("rewards", rewards)?;
    check_finite("baseline_rewards", baseline_rewards)?;
    Ok(map_indexed(n, |i| {
        sigmoid(rewards[i] - baseline_rewards[i])
    }))
}

/// CRPG's weight: `max(1 - log_ratio / kl_max, 0) * sigmoid(r - r_baseline) * satisfied`.
pub fn crpg_weights(
    rewards: &[f64],
    baseline_rewards: &[f64],
    satisfied: &[i8],
    log_ratio: &[f64],
    kl_max: f64,
) -> CoreResult<Vec<f64>> {
    let n = rewards.len();
    check_nonempty("rewards", n)?;
    check_len("baseline_rewards", baseline_rewards.len(), "rewards", n)?;
    check_len("satisfied", satisfied.len(), "rewards", n)?;
    check_len("log_ratio", log_ratio.len(), "rewards", n)?;
    check_kl_max(kl_max)?;
    check_finite("rewards", rewards)?;
    check_finite("baseline_rewards", baseline_rewards)?;
    check_finite("log_ratio", log_ratio)?;
    check_verdicts(satisfied, false)?;
    Ok(map_indexed(n, |i| {
        let kl_factor = (1.0 - log_ratio[i] / kl_max).max(0.0);
        kl_factor * sigmoid(rewards[i] - baseline_rewards[i]) * f64::from(satisfied[i])
    }))
}

/// CRRAFT's pick per group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The distinct group ids, ascending.
    pub groups: Vec<i64>,
    /// Per group: the sample index of the highest-reward response among those satisfied with
    /// `log_ratio <= kl_max`, or -1 when there is none.
    pub index: Vec<i64>,
}

/// CODPO's pair per group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairs {
    /// The distinct group ids, ascending.
    pub groups: Vec<i64>,
    /// Per group: the highest-reward satisfied response, or -1.
    pub chosen: Vec<i64>,
    /// Per group: the lowest-reward violated response, else the lowest-reward other response,
    /// or -1 (always -1 when `chosen` is -1).
    pub rejected: Vec<i64>,
}

/// CRRAFT: per group, the highest-reward response among the satisfied ones whose log-ratio is
/// at most `kl_max`, or -1 when none is left.
pub fn crraft_select(
    group_ids: &[i64],
    rewards: &[f64],
    satisfied: &[i8],
    log_ratio: &[f64],
    kl_max: f64,
) -> CoreResult<Selection> {
    let n = group_ids.len();
    check_nonempty("group_ids", n)?;
    check_len("rewards", rewards.len(), "group_ids", n)?;
    check_len("satisfied", satisfied.len(), "group_ids", n)?;
    check_len("log_ratio", log_ratio.len(), "group_ids", n)?;
    check_kl_max(kl_max)?;
    check_finite("rewards", rewards)?;
    check_finite("log_ratio", log_ratio)?;
    check_verdicts(satisfied, true)?;
    // Members come in ascending sample order, so the strict `>` keeps the lowest index among
    // equal rewards.
    let push = |best: &mut Option<usize>, i: usize| {
        if satisfied[i] == SATISFIED
            && log_ratio[i] <= kl_max
            && best.is_none_or(|b| rewards[i] > rewards[b])
        {
            *best = Some(i);
        }
    };
    let finish = |best: Option<usize>| best.map_or(-1, |b| b as i64);
    let (groups, index) = fold_groups(group_ids, parallel(n), push, finish);
    Ok(Selection { groups, index })
}

/// CODPO: per group, chosen = the highest-reward satisfied response; rejected = the
/// lowest-reward violated one or, when none is violated, the lowest-reward of the others.
/// `(-1, -1)` when nothing is satisfied or no second response is left.
pub fn codpo_pairs(group_ids: &[i64], rewards: &[f64], satisfied: &[i8]) -> CoreResult<Pairs> {
    let n = group_ids.len();
    check_nonempty("group_ids", n)?;
    check_len("rewards", rewards.len(), "group_ids", n)?;
    check_len("satisfied", satisfied.len(), "group_ids", n)?;
    check_finite("rewards", rewards)?;
    check_verdicts(satisfied, true)?;
    let push = |acc: &mut PairScan, i: usize| acc.push(i, rewards, satisfied);
    let (groups, pairs) = fold_groups(group_ids, parallel(n), push, PairScan::finish);
    let (chosen, rejected) = pairs.into_iter().unzip();
    Ok(Pairs {
        groups,
        chosen,
        rejected,
    })
}

/// One pass over a group for [`codpo_pairs`]. Strict comparisons in ascending sample order keep
/// the lowest index on ties. When nothing is violated, the rejected response is the
/// lowest-reward satisfied one other than the chosen one: the lowest, or the second lowest
/// when the lowest is the chosen one (all rewards equal).
#[derive(Default, Clone)]
struct PairScan {
    best_sat: Option<usize>,
    worst_sat: Option<usize>,
    second_worst_sat: Option<usize>,
    worst_vio: Option<usize>,
}

impl PairScan {
    fn push(&mut self, i: usize, rewards: &[f64], satisfied: &[i8]) {
        let below = |w: Option<usize>| w.is_none_or(|w| rewards[i] < rewards[w]);
        match satisfied[i] {
            SATISFIED => {
                if self.best_sat.is_none_or(|b| rewards[i] > rewards[b]) {
                    self.best_sat = Some(i);
                }
                if below(self.worst_sat) {
                    self.second_worst_sat = self.worst_sat;
                    self.worst_sat = Some(i);
                } else if below(self.second_worst_sat) {
                    self.second_worst_sat = Some(i);
                }
            }
            VIOLATED if below(self.worst_vio) => self.worst_vio = Some(i),
            _ => {}
        }
    }

    fn finish(self) -> (i64, i64) {
        let Some(chosen) = self.best_sat else {
            return (-1, -1);
        };
        let rejected = match self.worst_vio {
            Some(v) => Some(v),
            None if self.worst_sat == Some(chosen) => self.second_worst_sat,
            None => self.worst_sat,
        };
        match rejected {
            Some(r) => (chosen as i64, r as i64),
            None => (-1, -1),
        }
    }
}

#[cfg(test)]
mod tests;
