//! `cargo bench -p onsite-docs`: median and p99 render times over 200 iterations.
//! Targets (release): sign-off sheet with signature < 20 ms, 80 mm receipt < 10 ms.

use std::hint::black_box;
use std::time::{Duration, Instant};

use onsite_docs::{samples, Lang, Paper};

const ITERATIONS: usize = 200;

fn bench(name: &str, target: Duration, mut f: impl FnMut() -> usize) {
    // Warm-up: the font metrics are parsed once per process.
    let size = f();
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[ITERATIONS / 2];
    let p99 = times[(ITERATIONS * 99).div_ceil(100) - 1];
    let verdict = if median < target { "ok" } else { "OVER TARGET" };
    println!(
        "{name:<44} median {:>7.2} ms   p99 {:>7.2} ms   ({} bytes; target {} ms: {verdict})",
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        size,
        target.as_millis(),
    );
}

fn main() {
    for lang in [Lang::ZhCn, Lang::En] {
        let input = samples::sign_off(lang);
        bench(
            &format!("sign-off A4 with signature ({lang:?})"),
            Duration::from_millis(20),
            || {
                onsite_docs::render_sign_off(&input)
                    .map(|b| b.len())
                    .unwrap_or(0)
            },
        );
    }
    for lang in [Lang::ZhCn, Lang::En] {
        let input = samples::payment_receipt(lang, Paper::Roll80);
        bench(
            &format!("payment receipt 80 mm ({lang:?})"),
            Duration::from_millis(10),
            || {
                onsite_docs::render_payment_receipt(&input)
                    .map(|b| b.len())
                    .unwrap_or(0)
            },
        );
    }
    let input = samples::carry_back(Lang::ZhCn, Paper::Roll80);
    bench(
        "carry-back receipt 80 mm with signature (ZhCn)",
        Duration::from_millis(20),
        || {
            onsite_docs::render_carry_back(&input)
                .map(|b| b.len())
                .unwrap_or(0)
        },
    );
}
