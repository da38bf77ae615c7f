//! `cargo bench -p onsite-store`: Today and search on a store with 50,000 past work orders
//! and 20,000 customers, on a real file, plain (as before issue 11) and sealed with
//! SQLCipher (as the app keeps it) in the same run: the sealed file is the plain one
//! sealed by the migration (timed too). Prints median and p99 of each, the sealed/plain
//! ratio of the medians, and the first query after a cold open. Targets: Today < 5 ms,
//! search < 10 ms (release); sealed within 15 % of plain (issue 11).

use onsite_store::DataKey;
use std::time::{Duration, Instant};

use chrono::{Duration as D, TimeZone, Utc};
use onsite_domain::view::{ProofKind, ProofOfPurchase};
use onsite_domain::{JobType, WorkOrderStatus};
use onsite_store::workorders::{self, Day, NewAppliance, NewCustomer, NewTechnician, NewWorkOrder};
use onsite_store::Store;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "欧阳",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "小明", "建国",
];
const LATIN: &[&str] = &[
    "James Chen",
    "Sophie Müller",
    "Margaret O'Donnell",
    "David Smith",
    "Anna Ivanova",
];
const DISTRICTS: &[&str] = &[
    "朝阳区望京西园",
    "海淀区中关村南大街",
    "西城区西直门外大街",
    "丰台区方庄芳古园",
    "通州区新华大街",
    "昌平区回龙观龙泽苑",
];

/// (median, p99) in ms.
fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

fn print_pair(label: &str, plain: (f64, f64), sealed: (f64, f64), runs: usize) {
    println!(
        "{label:<40} plain {:>7.3} / {:>7.3} ms   sealed {:>7.3} / {:>7.3} ms   x{:.2}  ({runs} runs, median / p99)",
        plain.0,
        plain.1,
        sealed.0,
        sealed.1,
        sealed.0 / plain.0
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("onsite-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("bench.db");
    let mut store = Store::open_unsealed(&path).unwrap();
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let day_start = tz
        .with_ymd_and_hms(2026, 11, 24, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let day = Day {
        now: day_start + D::hours(10),
        start: day_start,
        end: day_start + D::days(1),
    };

    let t0 = Instant::now();
    let proof = ProofOfPurchase {
        kind: ProofKind::Invoice,
        date: None,
        sealed: true,
    };
    store
        .write(|tx| {
            workorders::insert_technician(
                tx,
                &NewTechnician {
                    id: "tech",
                    name: "李建国",
                    phone: "13801010101",
                    employee_no: "T-0042",
                },
            )?;
            onsite_store::settings::set(tx, onsite_store::settings::TECHNICIAN_ID, "tech")?;
            for c in 0..20_000usize {
                let name = if c % 10 == 0 {
                    LATIN[c / 10 % LATIN.len()].to_string()
                } else {
                    format!(
                        "{}{}",
                        SURNAMES[c % SURNAMES.len()],
                        GIVEN[c / 7 % GIVEN.len()]
                    )
                };
                let phone = format!("13{:09}", c * 7919 % 1_000_000_000);
                let address = format!(
                    "北京市{}{}号楼{}单元{}",
                    DISTRICTS[c % DISTRICTS.len()],
                    c % 400,
                    c % 6 + 1,
                    100 + c % 1900
                );
                let (cid, aid) = (format!("c{c}"), format!("a{c}"));
                workorders::insert_customer(
                    tx,
                    &NewCustomer {
                        id: &cid,
                        name: &name,
                        phone: &phone,
                        address: &address,
                        language: "zh-CN",
                    },
                )?;
                let serial = format!("QY500-{c:08}");
                workorders::insert_appliance(
                    tx,
                    &NewAppliance {
                        id: &aid,
                        customer_id: &cid,
                        category: "water_purifier",
                        brand: "清源",
                        model: "QY-RO500",
                        serial_no: Some(&serial),
                        purchase_date: None,
                        proof: &proof,
                    },
                )?;
            }
            for w in 0..50_010usize {
                let c = w * 31 % 20_000;
                let (cid, aid, id) = (format!("c{c}"), format!("a{c}"), format!("w{w}"));
                // 50,000 past orders over three years, then 10 today
                let start = if w < 50_000 {
                    day_start - D::minutes(((w as i64) + 1) * 31)
                } else {
                    day_start + D::hours(8 + (w as i64 - 50_000))
                };
                let status = if w < 50_000 {
                    WorkOrderStatus::Completed
                } else {
                    WorkOrderStatus::Assigned
                };
                let order_no = format!("WO-{w:08}");
                workorders::insert_work_order(
                    tx,
                    &NewWorkOrder {
                        id: &id,
                        order_no: &order_no,
                        technician_id: "tech",
                        customer_id: &cid,
                        appliance_id: &aid,
                        job_type: JobType::Repair,
                        status,
                        reported_fault: "出水量变小",
                        appointment_start: start,
                        appointment_end: start + D::hours(1),
                        notes: "",
                        created_at: start,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    println!(
        "built 50,010 work orders / 20,000 customers in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    drop(store);
    let sealed_path = dir.join("sealed.db");
    std::fs::copy(&path, &sealed_path).unwrap();
    let t0 = Instant::now();
    drop(Store::open(&sealed_path, &test_key()).unwrap());
    println!(
        "sealed a copy of it (the first start after an upgrade) in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // The first Today after opening: every page it touches is read (and, sealed,
    // decrypted) once. The OS page cache is warm in both: this is the app's cold start,
    // not a cold disk.
    let runs_cold = 20;
    let cold = |p: &std::path::Path, sealed: bool| {
        let mut samples = Vec::with_capacity(runs_cold);
        for _ in 0..runs_cold {
            let t = Instant::now();
            let store = if sealed {
                Store::open(p, &test_key()).unwrap()
            } else {
                Store::open_unsealed(p).unwrap()
            };
            let n = workorders::today(store.conn(), "tech", &day).unwrap().len();
            samples.push(t.elapsed());
            assert_eq!(n, 10);
        }
        stats(samples)
    };
    print_pair(
        "open + first today (cold start)",
        cold(&path, false),
        cold(&sealed_path, true),
        runs_cold,
    );

    let plain = Store::open_unsealed(&path).unwrap();
    let sealed = Store::open(&sealed_path, &test_key()).unwrap();
    let runs = 300;
    let today = |store: &Store| {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let n = workorders::today(store.conn(), "tech", &day).unwrap().len();
            samples.push(t.elapsed());
            assert_eq!(n, 10);
        }
        stats(samples)
    };
    print_pair(
        "today (10 of 50,010 orders)",
        today(&plain),
        today(&sealed),
        runs,
    );

    for (label, q) in [
        ("search 2-char Chinese name 王伟", "王伟"),
        ("search 3-char Chinese name 欧阳伟", "欧阳伟"),
        ("search 1 character 磊", "磊"),
        ("search phone fragment 7919", "7919"),
        ("search English surname Müller", "Müller"),
        ("search address + name 望京 王伟", "望京 王伟"),
        ("search order number WO-00012345", "WO-00012345"),
    ] {
        let search = |store: &Store| {
            let mut samples = Vec::with_capacity(runs);
            let mut found = 0;
            for _ in 0..runs {
                let t = Instant::now();
                found = workorders::search(store.conn(), q, &day, 100)
                    .unwrap()
                    .len();
                samples.push(t.elapsed());
            }
            assert!(found > 0, "{q} found nothing");
            (stats(samples), found)
        };
        let (p, found) = search(&plain);
        let (s, found_sealed) = search(&sealed);
        assert_eq!(found, found_sealed);
        print_pair(&format!("{label} ({found} hits)"), p, s, runs);
    }
    drop((plain, sealed));
    let _ = std::fs::remove_dir_all(&dir);
}

fn test_key() -> DataKey {
    DataKey::from_array([7; 32])
}
