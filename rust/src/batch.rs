//! Parallel batch evaluation that survives panics.
//!
//! Judges evaluate a batch item by item on the rayon pool. A panic inside one item is caught and
//! turned into a value by `on_panic` (for judges: `Verdict::Error` with reason `"panic"`), so a
//! bug in one parser costs one sample, never the training process.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

static PARALLEL: AtomicBool = AtomicBool::new(true);

/// Turns rayon fan-out on or off for every batch call (the `CGPO_PARALLELISM` switch).
pub fn set_parallelism(enabled: bool) {
    PARALLEL.store(enabled, Ordering::Relaxed);
}

pub fn parallelism() -> bool {
    PARALLEL.load(Ordering::Relaxed)
}

/// The message carried by a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Maps `f` over `items` (in parallel unless turned off), preserving order. A panicking call is
/// replaced by `on_panic(index, message)`.
pub fn par_map_catch<T, R, F, P>(items: &[T], f: F, on_panic: P) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
    P: Fn(usize, String) -> R + Sync,
{
    let one = |(i, item): (usize, &T)| {
        catch_unwind(AssertUnwindSafe(|| f(i, item)))
            .unwrap_or_else(|payload| on_panic(i, panic_message(payload.as_ref())))
    };
    if parallelism() && items.len() > 1 {
        items.par_iter().enumerate().map(one).collect()
    } else {
        items.iter().enumerate().map(one).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_catches_panics() {
        let items: Vec<u32> = (0..100).collect();
        let out = par_map_catch(
            &items,
            |_, &x| {
                if x == 42 {
                    panic!("boom at {x}");
                }
                x as i64 * 2
            },
            |i, msg| {
                assert!(msg.contains("boom"));
                -(i as i64)
            },
        );
        assert_eq!(out[41], 82);
        assert_eq!(out[42], -42);
        assert_eq!(out[99], 198);
    }

    #[test]
    fn sequential_mode_gives_the_same_result() {
        let items: Vec<u32> = (0..10).collect();
        let par = par_map_catch(&items, |i, &x| i as u32 + x, |_, _| 0);
        set_parallelism(false);
        let seq = par_map_catch(&items, |i, &x| i as u32 + x, |_, _| 0);
        set_parallelism(true);
        assert_eq!(par, seq);
    }
}
