//! Criterion bench of the Rust math judge core (no Python): one decision per iteration.
//!
//! Run: `cargo bench -p cgpo-core --bench math`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use _core::math::{judge_batch, judge_one, prepare_gold, MathConfig};

fn bench(c: &mut Criterion) {
    let cfg = MathConfig::default();
    let cases = [
        ("integer", "The answer is \\boxed{204}.", "204"),
        ("fraction_vs_decimal", "so \\boxed{\\frac{3}{4}}", "0.75"),
        ("radical", "\\boxed{2\\sqrt{2}}", "\\sqrt{8}"),
        ("polynomial", "\\boxed{(x+1)^2}", "x^2+2x+1"),
        (
            "interval_union",
            "\\boxed{(-\\infty,0)\\cup(1,\\infty)}",
            "(1,\\infty)\\cup(-\\infty,0)",
        ),
        ("tower", "\\boxed{2^{2^{2^{2^{2^{2}}}}}}", "5"),
    ];
    for (name, completion, gold) in cases {
        c.bench_function(&format!("judge_one/{name}"), |b| {
            b.iter(|| {
                let g = prepare_gold(black_box(gold), &cfg);
                judge_one(black_box(completion), &g, &cfg)
            })
        });
    }
    let long = "Let me think step by step. ".repeat(400) + "The final answer is $\\frac{1}{2}$.";
    c.bench_function("judge_one/long_completion_final_answer", |b| {
        b.iter(|| judge_one(black_box(&long), &prepare_gold("0.5", &cfg), &cfg))
    });
    let completions: Vec<String> = (0..1000).map(|k| format!("\\boxed{{{k}/2}}")).collect();
    let golds: Vec<String> = (0..1000).map(|k| format!("{}", k / 2)).collect();
    c.bench_function("judge_batch/1000", |b| {
        b.iter(|| judge_batch(black_box(&completions), black_box(&golds), &cfg))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
