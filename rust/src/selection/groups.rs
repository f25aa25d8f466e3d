//! Grouping responses by prompt: a per-group fold over the members in ascending sample order,
//! with results in ascending group-id order.
//!
//! Three layouts, cheapest first:
//! - sorted ids (a trainer lays out a prompt's K responses next to each other): the groups are
//!   runs, folded in parallel, with no permutation at all;
//! - unsorted ids with a compact range: one pass in sample order into a state per possible id;
//! - anything else: a stable sort of the sample indices by id, then runs.

use rayon::prelude::*;

/// Folds every group: `push(&mut state, sample)` for each member in ascending sample order,
/// then `finish(state)`. Returns the distinct ids (ascending) and one result per id.
pub(crate) fn fold_groups<S, T, P, F>(
    group_ids: &[i64],
    parallel: bool,
    push: P,
    finish: F,
) -> (Vec<i64>, Vec<T>)
where
    S: Default + Clone + Send,
    T: Send,
    P: Fn(&mut S, usize) + Sync,
    F: Fn(S) -> T + Sync,
{
    if group_ids.windows(2).all(|w| w[0] <= w[1]) {
        let starts = run_starts(group_ids);
        let ids = starts.iter().map(|&s| group_ids[s]).collect();
        let fold = |k: usize| {
            let end = starts.get(k + 1).copied().unwrap_or(group_ids.len());
            let mut state = S::default();
            (starts[k]..end).for_each(|i| push(&mut state, i));
            finish(state)
        };
        let results = if parallel {
            (0..starts.len()).into_par_iter().map(fold).collect()
        } else {
            (0..starts.len()).map(fold).collect()
        };
        return (ids, results);
    }

    let (min, max) = group_ids
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &g| (lo.min(g), hi.max(g)));
    let span = (i128::from(max) - i128::from(min) + 1) as u128;
    if span <= 2 * group_ids.len() as u128 + 1024 {
        // Visiting samples in index order keeps "ascending sample order" within every group.
        let mut states = vec![None::<S>; span as usize];
        for (i, &g) in group_ids.iter().enumerate() {
            push(states[(g - min) as usize].get_or_insert_with(S::default), i);
        }
        let mut ids = Vec::new();
        let mut results = Vec::new();
        for (k, state) in states.into_iter().enumerate() {
            if let Some(state) = state {
                ids.push(min + k as i64);
                results.push(finish(state));
            }
        }
        return (ids, results);
    }

    let mut order: Vec<usize> = (0..group_ids.len()).collect();
    // Stable sorts: members keep ascending sample order.
    if parallel {
        order.par_sort_by_key(|&i| group_ids[i]);
    } else {
        order.sort_by_key(|&i| group_ids[i]);
    }
    let sorted: Vec<i64> = order.iter().map(|&i| group_ids[i]).collect();
    let starts = run_starts(&sorted);
    let ids = starts.iter().map(|&s| sorted[s]).collect();
    let fold = |k: usize| {
        let end = starts.get(k + 1).copied().unwrap_or(order.len());
        let mut state = S::default();
        order[starts[k]..end]
            .iter()
            .for_each(|&i| push(&mut state, i));
        finish(state)
    };
    let results = if parallel {
        (0..starts.len()).into_par_iter().map(fold).collect()
    } else {
        (0..starts.len()).map(fold).collect()
    };
    (ids, results)
}

/// Where each run of equal values starts in a sorted slice.
fn run_starts(sorted: &[i64]) -> Vec<usize> {
    (0..sorted.len())
        .filter(|&i| i == 0 || sorted[i] != sorted[i - 1])
        .collect()
}
