//! Retention on the device (issue 11, docs/retention.md): after each good sync, and once a
//! day at start, closed jobs whose records all reached head office and whose days are up
//! leave the device with their blobs. One transaction per run; the blob files go after the
//! commit, and files a crash left behind are swept on a later run. Logs counts only.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use onsite_store::{retention, Blobs, Store, StoreResult};

use crate::state::lock;

/// What one run removed: counts only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub jobs: usize,
    pub customers: usize,
    pub files: usize,
}

/// Runs a sweep with the days head office last told (else the default).
pub fn run(store: &Mutex<Store>, blobs: &Blobs, now: DateTime<Utc>) -> StoreResult<Swept> {
    let report = {
        let mut s = lock(store);
        let days = retention::days(s.conn())?;
        s.write(|tx| retention::sweep(tx, days, now))?
    };
    // After the commit: a crash here leaves orphan files, swept below on a later run.
    let mut files = retention::remove_blob_files(blobs, &report.blobs);
    files += retention::sweep_orphan_files(lock(store).conn(), blobs, now)?;
    Ok(Swept {
        jobs: report.jobs,
        customers: report.customers,
        files,
    })
}

/// Runs a sweep when none ran in the last day (at start).
pub fn run_if_due(
    store: &Mutex<Store>,
    blobs: &Blobs,
    now: DateTime<Utc>,
) -> StoreResult<Option<Swept>> {
    if !retention::due(lock(store).conn(), now)? {
        return Ok(None);
    }
    run(store, blobs, now).map(Some)
}

/// Logs a run's outcome: counts only, never customer data.
pub fn log(outcome: StoreResult<Option<Swept>>) {
    match outcome {
        Ok(Some(s)) if s.jobs + s.files > 0 => tracing::info!(
            jobs = s.jobs,
            customers = s.customers,
            files = s.files,
            "retention removed closed jobs"
        ),
        Ok(_) => {}
        // The error's code only: a store error's text may quote what it was given.
        Err(e) => tracing::warn!(code = ?e.to_ipc().code, "retention sweep failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_run_is_due_once_a_day_and_sweeps_orphan_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = onsite_store::DataKey::random();
        let store = Mutex::new(Store::open(&dir.path().join("onsite.db"), &key).unwrap());
        let blobs = Blobs::new(dir.path().join("blobs"), &key);
        let orphan = onsite_store::documents::put_blob(&blobs, b"left by a crash").unwrap();
        let now = Utc::now() + retention::ORPHAN_GRACE + Duration::minutes(1);

        let first = run_if_due(&store, &blobs, now).unwrap();
        assert_eq!(
            first,
            Some(Swept {
                jobs: 0,
                customers: 0,
                files: 1
            })
        );
        assert!(!blobs.path(&orphan).unwrap().exists());
        assert_eq!(
            run_if_due(&store, &blobs, now + Duration::hours(23)).unwrap(),
            None
        );
        assert!(run_if_due(&store, &blobs, now + Duration::hours(25))
            .unwrap()
            .is_some());
    }
}
