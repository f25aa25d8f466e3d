use super::*;

fn sel(groups: &[i64], index: &[i64]) -> Selection {
    Selection {
        groups: groups.to_vec(),
        index: index.to_vec(),
    }
}

#[test]
fn calibrated_reward_is_the_sigmoid_of_the_margin() {
    let out = calibrated_reward(&[0.0, 3.0f64.ln(), -2.0], &[0.0, 0.0, -2.0]).unwrap();
    assert_eq!(out, vec![0.5, 0.75, 0.5]);
}

#[test]
fn crpg_weights_by_hand() {
    // factor = max(1 - lr/2, 0) = [1, 0.5, 0, 0.5]; calib = [0.5, 0.75, 0.5, 0.5]; sat = [1,1,1,0]
    let w = crpg_weights(
        &[0.0, 3.0f64.ln(), 0.0, 0.0],
        &[0.0; 4],
        &[1, 1, 1, 0],
        &[0.0, 1.0, 3.0, 1.0],
        2.0,
    )
    .unwrap();
    assert_eq!(w, vec![0.5, 0.375, 0.0, 0.0]);
}

#[test]
fn crpg_weights_refuse_error_verdicts_and_bad_kl_max() {
    let e = crpg_weights(&[0.0; 2], &[0.0; 2], &[1, -1], &[0.0; 2], 1.0).unwrap_err();
    assert!(
        e.to_string().starts_with("sample 1: `satisfied`: is -1"),
        "{e}"
    );
    let e = crpg_weights(&[0.0], &[0.0], &[1], &[0.0], 0.0).unwrap_err();
    assert!(e.to_string().contains("kl_max"), "{e}");
    let e = crpg_weights(&[0.0], &[0.0], &[2], &[0.0], 1.0).unwrap_err();
    assert!(e.to_string().contains("is 2"), "{e}");
}

#[test]
fn crraft_picks_the_best_admissible_response_per_group() {
    //            group:   5    5    5    2    2    9
    let ids = [5, 5, 5, 2, 2, 9];
    let rewards = [1.0, 3.0, 2.0, 1.0, 1.0, 7.0];
    let sat = [1, 1, 1, 1, 1, 0];
    let lr = [0.0, 0.9, 0.1, 0.0, 0.0, 0.0];
    // kl_max = 0.5 rules out sample 1 (the best); group 2 ties -> lowest index 3; group 9 has
    // nothing satisfied.
    let s = crraft_select(&ids, &rewards, &sat, &lr, 0.5).unwrap();
    assert_eq!(s, sel(&[2, 5, 9], &[3, 2, -1]));
    // lr == kl_max is still admissible.
    let s = crraft_select(&ids, &rewards, &sat, &lr, 0.9).unwrap();
    assert_eq!(s, sel(&[2, 5, 9], &[3, 1, -1]));
}

#[test]
fn crraft_ignores_error_samples() {
    let s = crraft_select(&[0, 0], &[9.0, 1.0], &[-1, 1], &[0.0, 0.0], 1.0).unwrap();
    assert_eq!(s, sel(&[0], &[1]));
}

#[test]
fn codpo_pairs_by_hand() {
    let ids = [1, 1, 1, 1, 0, 0, 0, 3, 4, 4, 4];
    let rewards = [0.5, 2.0, -1.0, -3.0, 1.0, 0.0, 1.0, 5.0, 2.0, 2.0, 2.0];
    let sat = [1, 1, 0, 0, 1, 1, 1, 1, 0, 0, -1];
    let p = codpo_pairs(&ids, &rewards, &sat).unwrap();
    assert_eq!(p.groups, vec![0, 1, 3, 4]);
    // group 0: none violated -> rejected = lowest among others (5); chosen tie -> 4
    // group 1: chosen 1, rejected = lowest violated 3
    // group 3: one response; group 4: nothing satisfied
    assert_eq!(p.chosen, vec![4, 1, -1, -1]);
    assert_eq!(p.rejected, vec![5, 3, -1, -1]);
}

#[test]
fn codpo_all_equal_rewards_picks_the_two_lowest_indices() {
    let p = codpo_pairs(&[7, 7, 7], &[1.0, 1.0, 1.0], &[1, 1, 1]).unwrap();
    assert_eq!((p.chosen, p.rejected), (vec![0], vec![1]));
    // An ERROR sample does not count as "another response".
    let p = codpo_pairs(&[7, 7], &[1.0, 0.0], &[1, -1]).unwrap();
    assert_eq!((p.chosen, p.rejected), (vec![-1], vec![-1]));
}

#[test]
fn every_grouping_layout_gives_the_same_answer() {
    // sorted, unsorted compact (counting sort) and unsorted sparse (comparison sort)
    let rewards = [1.0, 4.0, 2.0, 4.0, 0.0, 3.0];
    let sat = [1, 1, 0, 1, 1, 1];
    let lr = [0.0; 6];
    for (ids, expected_groups) in [
        (vec![0i64, 0, 0, 1, 1, 1], vec![0i64, 1]),
        (vec![1, 0, 1, 0, 1, 0], vec![0, 1]),
        (
            vec![i64::MAX, i64::MIN, i64::MAX, i64::MIN, i64::MAX, i64::MIN],
            vec![i64::MIN, i64::MAX],
        ),
    ] {
        let s = crraft_select(&ids, &rewards, &sat, &lr, 1.0).unwrap();
        assert_eq!(s.groups, expected_groups);
        let (groups, members) = fold_groups(&ids, false, |m: &mut Vec<usize>, i| m.push(i), |m| m);
        assert_eq!(groups, expected_groups);
        for (k, m) in members.iter().enumerate() {
            assert!(m.windows(2).all(|w| w[0] < w[1]));
            assert!(m.iter().all(|&i| ids[i] == s.groups[k]));
            assert!(m.contains(&(s.index[k] as usize)));
        }
    }
}

#[test]
fn parallel_and_sequential_agree_on_large_input() {
    let n = 100_000;
    let ids: Vec<i64> = (0..n).map(|i| ((i * 7919) % 5003) as i64).collect();
    let rewards: Vec<f64> = (0..n).map(|i| ((i * 31) % 97) as f64).collect();
    let sat: Vec<i8> = (0..n).map(|i| ((i % 3) as i8) - 1).collect();
    let lr: Vec<f64> = (0..n).map(|i| (i % 11) as f64 / 10.0).collect();
    let par = (
        crraft_select(&ids, &rewards, &sat, &lr, 0.5).unwrap(),
        codpo_pairs(&ids, &rewards, &sat).unwrap(),
    );
    crate::batch::set_parallelism(false);
    let seq = (
        crraft_select(&ids, &rewards, &sat, &lr, 0.5).unwrap(),
        codpo_pairs(&ids, &rewards, &sat).unwrap(),
    );
    crate::batch::set_parallelism(true);
    assert_eq!(par, seq);
}

#[test]
fn bad_input_is_an_error_naming_the_key() {
    let e = codpo_pairs(&[], &[], &[]).unwrap_err();
    assert!(e.to_string().contains("is empty"), "{e}");
    let e = codpo_pairs(&[0, 0], &[1.0], &[1, 1]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`rewards`: has 1 entries but `group_ids` has 2; give one entry per response"
    );
    let e = codpo_pairs(&[0, 0], &[1.0, f64::NAN], &[1, 1]).unwrap_err();
    assert!(
        e.to_string().starts_with("sample 1: `rewards`: is NaN"),
        "{e}"
    );
    let e = crraft_select(&[0], &[1.0], &[1], &[f64::INFINITY], 1.0).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("sample 0: `log_ratio`: is infinite"),
        "{e}"
    );
    let e = calibrated_reward(&[1.0], &[1.0, 2.0]).unwrap_err();
    assert!(e.to_string().contains("baseline_rewards"), "{e}");
}
