//! Grouping responses by prompt: the distinct group ids in ascending order and, for each, its
//! members in ascending sample order.
//!
//! Three layouts, cheapest first. A trainer normally lays out a prompt's K responses next to
//! each other with ids in order, so sorted ids need no permutation at all, only the run
//! boundaries. Unsorted ids with a compact range are bucketed by a counting sort (O(n), stable).
//! Anything else falls back to a stable sort of the sample indices by id.

use rayon::prelude::*;

pub(crate) struct Groups {
    /// Distinct ids, ascending.
    pub ids: Vec<i64>,
    /// `starts[g]..starts[g + 1]` are group g's positions in `order`.
    starts: Vec<usize>,
    /// Sample indices grouped by id, ascending within a group; `None` is the identity.
    order: Option<Vec<usize>>,
}

impl Groups {
    pub fn new(group_ids: &[i64], parallel: bool) -> Groups {
        if group_ids.windows(2).all(|w| w[0] <= w[1]) {
            return Self::from_sorted(group_ids, None);
        }
        let (min, max) = group_ids
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &g| (lo.min(g), hi.max(g)));
        let span = (max as i128 - min as i128 + 1) as u128;
        if span <= 2 * group_ids.len() as u128 + 1024 {
            return Self::counting_sort(group_ids, min, span as usize);
        }
        let mut order: Vec<usize> = (0..group_ids.len()).collect();
        // Both sorts are stable, so members keep ascending sample order.
        if parallel {
            order.par_sort_by_key(|&i| group_ids[i]);
        } else {
            order.sort_by_key(|&i| group_ids[i]);
        }
        let sorted: Vec<i64> = order.iter().map(|&i| group_ids[i]).collect();
        Self::from_sorted(&sorted, Some(order))
    }

    fn from_sorted(sorted_ids: &[i64], order: Option<Vec<usize>>) -> Groups {
        let mut ids = Vec::new();
        let mut starts = Vec::new();
        for (pos, &g) in sorted_ids.iter().enumerate() {
            if ids.last() != Some(&g) {
                ids.push(g);
                starts.push(pos);
            }
        }
        starts.push(sorted_ids.len());
        Groups { ids, starts, order }
    }

    fn counting_sort(group_ids: &[i64], min: i64, span: usize) -> Groups {
        let mut counts = vec![0usize; span + 1];
        for &g in group_ids {
            counts[(g - min) as usize + 1] += 1;
        }
        for k in 1..=span {
            counts[k] += counts[k - 1];
        }
        // counts[k] is now where bucket k starts.
        let mut next = counts.clone();
        let mut order = vec![0usize; group_ids.len()];
        for (i, &g) in group_ids.iter().enumerate() {
            let slot = &mut next[(g - min) as usize];
            order[*slot] = i;
            *slot += 1;
        }
        let mut ids = Vec::new();
        let mut starts = Vec::new();
        for k in 0..span {
            if counts[k + 1] > counts[k] {
                ids.push(min + k as i64);
                starts.push(counts[k]);
            }
        }
        starts.push(group_ids.len());
        Groups {
            ids,
            starts,
            order: Some(order),
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Number of samples over all groups.
    pub fn len_samples(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    /// Group g's sample indices, ascending.
    pub fn members(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        let range = self.starts[g]..self.starts[g + 1];
        let order = self.order.as_deref();
        range.map(move |pos| order.map_or(pos, |o| o[pos]))
    }
}
