//! A push's ops on PostgreSQL: narrow locks, and commit numbers taken last.
//!
//! Other writes (the office's edits, enrolment, reference data) take the write lock
//! exclusively and number their commit as they go (`new_commit`), one writer at a time as
//! on SQLite. A push does not need all of that: its ops touch one technician's work. So a
//! push takes the write lock in *shared* mode (any number of pushes at once, none while an
//! exclusive writer works), and exclusive locks of its own on its technician and on each
//! work order its ops name (in one order, so two pushes cannot wait for each other). It
//! decides and writes every op with stand-in commit numbers (−1, −2, …, never committed),
//! and only as its last statement takes the commit counter's row, turns the stand-ins into
//! real numbers and writes the `commits` rows. The counter's row stays locked to commit,
//! so numbers still become visible in order (docs/hq-storage.md, rule 1), but pushes of
//! different technicians now overlap in everything but that last statement and the commit.
//!
//! The two-integer advisory keys used here are a key space of their own, apart from the
//! single-bigint keys of the write and migration locks.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use onsite_api::{Op, OpOutcome, OpResult};
use uuid::Uuid;

use super::client::Db;
use super::{get, ts, WRITE_LOCK};
use crate::storage::{DeviceAuth, Result, StorageError};

/// Advisory key class of a technician's lock.
const TECHNICIAN: i32 = 1;
/// Advisory key class of a work order's lock.
const WORK_ORDER: i32 = 2;

/// A 32-bit key for an id (collisions only make two pushes wait for each other).
fn key(id: Uuid) -> i32 {
    let v = id.as_u128();
    (v ^ (v >> 32) ^ (v >> 64) ^ (v >> 96)) as u32 as i32
}

/// The locks a push of `ops` by `device` takes, in one round trip, after the transaction
/// started: the write lock shared, then the technician's and the work orders' locks in
/// ascending key order.
pub(super) fn lock(
    tx: &mut impl Db,
    lock_timeout_ms: u64,
    device: &DeviceAuth,
    ops: &[Op],
) -> Result<()> {
    let mut keys = BTreeSet::new();
    keys.insert((TECHNICIAN, key(device.technician_id)));
    for op in ops {
        keys.insert((WORK_ORDER, key(op.entity_id)));
    }
    let mut sql = format!(
        "SET LOCAL lock_timeout = {lock_timeout_ms}; \
         SELECT pg_advisory_xact_lock_shared({WRITE_LOCK});"
    );
    for (class, k) in keys {
        sql.push_str(&format!("SELECT pg_advisory_xact_lock({class}, {k});"));
    }
    tx.batch_execute(&sql)
}

/// What a push wrote with stand-in commit numbers, to be numbered at its end.
#[derive(Default)]
pub(super) struct Pending {
    /// Stand-ins handed out (−1 … −n).
    commits: i64,
    facts: Vec<String>,
    day_facts: Vec<String>,
    /// Feed rows written with a stand-in: (audience, entity type, entity id).
    fed: BTreeSet<(String, String, String)>,
    /// Results to store, by op id: (device id, device_seq, index in the push's results).
    results: BTreeMap<Uuid, (Uuid, i64, usize)>,
}

impl Pending {
    /// A stand-in commit number for one more commit of this push.
    pub(super) fn new_commit(&mut self) -> i64 {
        self.commits += 1;
        -self.commits
    }

    pub(super) fn fact(&mut self, fact_id: &str) {
        self.facts.push(fact_id.to_owned());
    }

    pub(super) fn day_fact(&mut self, fact_id: &str) {
        self.day_facts.push(fact_id.to_owned());
    }

    pub(super) fn fed(&mut self, audience: &str, entity_type: &str, entity_id: &str) {
        self.fed.insert((
            audience.to_owned(),
            entity_type.to_owned(),
            entity_id.to_owned(),
        ));
    }

    /// The result an earlier op of this push with the same op id got, if any.
    pub(super) fn result_of(&self, op_id: Uuid) -> Option<usize> {
        self.results.get(&op_id).map(|(_, _, i)| *i)
    }

    /// The op's result is to be stored (as `processed_ops`) once numbered; `index` is its
    /// place in the push's results.
    pub(super) fn store_result(&mut self, device: Uuid, op: &Op, index: usize) {
        self.results
            .insert(op.op_id, (device, op.device_seq, index));
    }

    /// Numbers the push's commits (the counter's row is taken here and held to commit),
    /// replaces the stand-ins in what was written and in `results`, and stores the
    /// results, marking an earlier refusal of each applied op resolved (`resolution` says
    /// how). Commit times are the database's clock once the counter is held, so they
    /// grow with the numbers across instances.
    pub(super) fn finish(
        self,
        tx: &mut impl Db,
        results: &mut [OpResult],
        now: DateTime<Utc>,
        resolution: &str,
    ) -> Result<()> {
        if self.commits > 0 {
            let tags = (0..self.commits)
                .map(|_| tag())
                .collect::<Result<Vec<String>>>()?;
            let audiences: BTreeSet<&str> = self.fed.iter().map(|(a, _, _)| a.as_str()).collect();
            let audiences: Vec<&str> = audiences.into_iter().collect();
            let row = tx.query_one(
                "WITH c AS (UPDATE commit_counter SET seq = seq + $1 WHERE id = 1 \
                 RETURNING seq - $1 AS base), \
                 f AS (UPDATE facts SET seq = c.base - facts.seq FROM c \
                 WHERE facts.fact_id = ANY($2) AND facts.seq < 0 RETURNING 1), \
                 d AS (UPDATE technician_day_facts t SET seq = c.base - t.seq FROM c \
                 WHERE t.fact_id = ANY($3) AND t.seq < 0 RETURNING 1), \
                 fd AS (UPDATE feed SET seq = c.base - feed.seq FROM c \
                 WHERE feed.audience = ANY($4) AND feed.seq < 0 RETURNING 1), \
                 m AS (INSERT INTO commits (seq, at, tag) \
                 SELECT c.base + g.i, to_char(clock_timestamp() AT TIME ZONE 'UTC', \
                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), g.tag \
                 FROM c, unnest($5::text[]) WITH ORDINALITY AS g(tag, i)) \
                 SELECT base, (SELECT count(*) FROM f), (SELECT count(*) FROM d), \
                 (SELECT count(*) FROM fd) FROM c",
                &[
                    &self.commits,
                    &self.facts,
                    &self.day_facts,
                    &audiences,
                    &tags,
                ],
            )?;
            // Every row written with a stand-in was numbered, and nothing else: a stand-in
            // left behind would be committed where no pull ever finds it, so the push is
            // refused whole instead (a bug, never the device's doing).
            let counts: (i64, i64, i64) = (get(&row, 1)?, get(&row, 2)?, get(&row, 3)?);
            let expected = (
                self.facts.len() as i64,
                self.day_facts.len() as i64,
                self.fed.len() as i64,
            );
            if counts != expected {
                return Err(StorageError::Internal(format!(
                    "a push numbered {counts:?} rows (facts, day facts, feed) for {expected:?}"
                )));
            }
            let base: i64 = get(&row, 0)?;
            for r in results.iter_mut() {
                if let OpOutcome::Applied { server_seq, .. } = &mut r.outcome {
                    if *server_seq < 0 {
                        *server_seq = base - *server_seq;
                    }
                }
            }
        }
        if self.results.is_empty() {
            return Ok(());
        }
        let (mut devices, mut ops, mut seqs, mut outcomes, mut applied) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (op_id, (device, device_seq, i)) in &self.results {
            let outcome = &results
                .get(*i)
                .ok_or_else(|| StorageError::Internal("a result out of place".into()))?
                .outcome;
            devices.push(device.to_string());
            ops.push(op_id.to_string());
            seqs.push(*device_seq);
            outcomes.push(serde_json::to_string(outcome)?);
            applied.push(matches!(outcome, OpOutcome::Applied { .. }));
        }
        // The results, and the earlier refusals of the applied ops resolved: one statement.
        tx.execute(
            "WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], \
             $4::text[], $5::bool[]) AS u(d, o, s, r, applied)), \
             resolved AS (UPDATE refused_ops f SET resolved_at = $6, resolution = $7 \
             FROM u WHERE u.applied AND f.device_id = u.d AND f.op_id = u.o \
             AND f.resolved_at IS NULL) \
             INSERT INTO processed_ops (device_id, op_id, device_seq, result, processed_at) \
             SELECT d, o, s, r, $6 FROM u \
             ON CONFLICT (device_id, op_id) DO UPDATE SET device_seq = excluded.device_seq, \
             result = excluded.result, processed_at = excluded.processed_at",
            &[
                &devices,
                &ops,
                &seqs,
                &outcomes,
                &applied,
                &ts(now),
                &resolution,
            ],
        )?;
        Ok(())
    }
}

/// A commit's random tag (never reused; docs/hq-storage.md, rule 4).
pub(super) fn tag() -> Result<String> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag)
        .map_err(|_| StorageError::Internal("no randomness for a commit tag".into()))?;
    Ok(tag.iter().map(|b| format!("{b:02x}")).collect())
}
