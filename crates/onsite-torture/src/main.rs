//! `onsite-torture`: the seeded sync torture test (issue 9). See docs/torture.md.
//!
//! ```text
//! onsite-torture [--seed N] [--actions 1000] [--syncs 100] [--hq-bin PATH]
//!                [--skip FAULT,...] [--work DIR] [--keep] [--verbose]
//! onsite-torture device <seed|enroll|act|sync> --db FILE --blobs DIR [...]   (internal)
//! ```
//! Its last line is exactly
//! `seed S: A actions, Y syncs, K kills, R restores, C cuts: L lost, D duplicated, W wedged`;
//! it exits non-zero when L, D or W is not zero (or an integrity check fails).

mod check;
mod device;
mod fwd;
mod hq;
mod rng;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!(
        "usage: onsite-torture [--seed N] [--actions N] [--syncs N] [--hq-bin PATH] \
         [--skip FAULT,...] [--work DIR] [--keep] [--verbose]\n  faults: {}",
        run::FAULTS.join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("device") {
        return device::main(&args[1..]);
    }
    let mut opts = run::Opts {
        seed: random_seed(),
        actions: 1000,
        syncs: 100,
        hq_bin: default_hq_bin(),
        work: None,
        keep: false,
        skip: Vec::new(),
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned();
        let ok = match flag.as_str() {
            "--seed" => value().and_then(|v| v.parse().ok()).map(|v| opts.seed = v),
            "--actions" => value()
                .and_then(|v| v.parse().ok())
                .map(|v| opts.actions = v),
            "--syncs" => value().and_then(|v| v.parse().ok()).map(|v| opts.syncs = v),
            "--hq-bin" => value().map(|v| opts.hq_bin = v.into()),
            "--work" => value().map(|v| opts.work = Some(v.into())),
            "--skip" => value().map(|v| {
                opts.skip
                    .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_owned))
            }),
            "--keep" => {
                opts.keep = true;
                Some(())
            }
            "--verbose" | "-v" => {
                opts.verbose = true;
                Some(())
            }
            _ => None,
        };
        if ok.is_none() {
            return usage();
        }
    }
    if let Some(bad) = opts
        .skip
        .iter()
        .find(|s| !run::FAULTS.contains(&s.as_str()))
    {
        eprintln!("unknown fault kind {bad:?}");
        return usage();
    }
    if opts.syncs == 0 {
        eprintln!("--syncs must be at least 1");
        return usage();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(torture(opts))
}

async fn torture(opts: run::Opts) -> ExitCode {
    let seed = opts.seed;
    let skip = opts.skip.clone();
    eprintln!(
        "onsite-torture: seed {seed}, {} actions, {} syncs{}",
        opts.actions,
        opts.syncs,
        if skip.is_empty() {
            String::new()
        } else {
            format!(", skipping {}", skip.join(","))
        }
    );
    let started = Instant::now();
    let mut t = match run::Torture::setup(opts).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("seed {seed}: setup failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let work = t.work_dir().to_path_buf();
    let result = t.run().await;
    let c = &t.counts;
    let line = |l: usize, d: usize, w: usize| {
        format!(
            "seed {seed}: {} actions, {} syncs, {} kills, {} restores, {} cuts: {l} lost, {d} duplicated, {w} wedged",
            c.actions, c.syncs, c.kills, c.restores, c.cuts
        )
    };
    match result {
        Err((step, e)) => {
            eprintln!("FAILED seed {seed} at step {step}: {e}");
            print_events(&t, step.saturating_sub(10), step);
            eprintln!("kept for inspection: {}", work.display());
            println!("{}", line(0, 0, 1));
            t.stop(false).await;
            ExitCode::FAILURE
        }
        Ok(report) => {
            let failed =
                report.lost() + report.duplicated() + report.wedged() > 0 || !report.integrity_ok();
            let codes: Vec<String> = report
                .refused_codes
                .iter()
                .map(|(code, n)| format!("{code} ×{n}"))
                .collect();
            eprintln!(
                "checked {} ops on the device ({} on head office's refused list with a reason{}) in {:.1} s",
                report.ops,
                report.refused,
                if codes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", codes.join(", "))
                },
                started.elapsed().as_secs_f64()
            );
            for (label, list) in [
                ("LOST", &report.lost),
                ("DUPLICATED", &report.duplicated),
                ("WEDGED", &report.wedged),
                ("DIVERGED", &report.diverged),
            ] {
                for f in list {
                    let step = f
                        .op_id
                        .as_ref()
                        .and_then(|op| t.op_steps.get(op))
                        .map(|s| format!("step {s}"))
                        .unwrap_or_else(|| "step unknown".into());
                    let op = f.op_id.as_deref().unwrap_or("-");
                    match &f.job {
                        Some(job) => {
                            // The step: the head-office actions on this job, if any.
                            let steps: Vec<String> = t
                                .events
                                .iter()
                                .filter(|e| e.what.contains(job.as_str()))
                                .map(|e| format!("step {}: {}", e.step, e.what))
                                .collect();
                            eprintln!("{label} seed {seed}: {} [{}]", f.what, steps.join("; "));
                        }
                        None => eprintln!("{label} seed {seed} {step}: op {op}: {}", f.what),
                    }
                }
            }
            if let Some(why) = &report.sync_wedged {
                eprintln!("WEDGED seed {seed}: the final clean sync never succeeded: {why}");
            }
            if !report.integrity_ok() {
                eprintln!(
                    "INTEGRITY seed {seed}: device {:?}, head office {:?}",
                    report.device_integrity, report.hq_integrity
                );
            }
            if failed {
                // What happened, for the first op found wrong.
                let first = report
                    .lost
                    .iter()
                    .chain(&report.duplicated)
                    .chain(&report.wedged)
                    .find_map(|f| f.op_id.as_ref().and_then(|op| t.op_steps.get(op)))
                    .copied()
                    .unwrap_or(0);
                eprintln!("events from step {first} (the first bad op's):");
                print_events(&t, first, usize::MAX);
                eprintln!("kept for inspection: {}", work.display());
            }
            println!(
                "{}",
                line(report.lost(), report.duplicated(), report.wedged())
            );
            t.stop(!failed).await;
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

fn print_events(t: &run::Torture, from: usize, to: usize) {
    let shown: Vec<&run::Event> = t
        .events
        .iter()
        .filter(|e| e.step >= from && e.step <= to)
        .collect();
    let skip = shown.len().saturating_sub(60);
    if skip > 0 {
        eprintln!("  ({skip} earlier events not shown)");
    }
    for e in shown.iter().skip(skip) {
        eprintln!("  step {}: {}", e.step, e.what);
    }
}

fn random_seed() -> u64 {
    // A fresh seed each run (printed first and last, so that it can be replayed).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut r = rng::Rng::new(now ^ (std::process::id() as u64) << 32);
    r.next_u64() % 1_000_000_000
}

fn default_hq_bin() -> PathBuf {
    // Beside this binary (cargo puts every binary of the workspace in the same folder).
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("onsite-hq")))
        .unwrap_or_else(|| PathBuf::from("onsite-hq"))
}
