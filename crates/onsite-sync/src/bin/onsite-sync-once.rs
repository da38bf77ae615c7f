//! `onsite-sync-once <db file> [server url] [pull limit]`: one sync run of an enrolled
//! Onsite database, for tests (kill -9 in the middle) and for support. Prints a summary
//! (no customer data); exit code 0 on success, 1 on a sync failure, 2 on bad arguments.
//! The database is sealed: its data key (64 hex digits) comes in `ONSITE_DATA_KEY`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use onsite_store::{DataKey, Store};
use onsite_sync::{ClientOptions, HqClient};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(db) = args.first().map(PathBuf::from) else {
        eprintln!("usage: onsite-sync-once <db file> [server url] [pull limit]");
        return ExitCode::from(2);
    };
    let key = match std::env::var("ONSITE_DATA_KEY")
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(hex::decode(h.trim()).ok()?).ok())
    {
        Some(k) => DataKey::from_array(k),
        None => {
            eprintln!("set ONSITE_DATA_KEY to the data key (64 hex digits)");
            return ExitCode::from(2);
        }
    };
    let store = match Store::open(&db, &key) {
        Ok(s) => Mutex::new(s),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let mut options = ClientOptions::default();
    if let Some(limit) = args.get(2).and_then(|l| l.parse().ok()) {
        options.pull_limit = limit;
    }
    let client = match args.get(1) {
        Some(url) => {
            let state =
                onsite_store::sync::state(store.lock().unwrap_or_else(|p| p.into_inner()).conn());
            let ca = state.ok().flatten().and_then(|s| s.ca_pem);
            HqClient::new(url, ca.as_deref(), options).map_err(onsite_sync::SyncError::from)
        }
        None => onsite_sync::engine::client_for(&store, options),
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(onsite_sync::sync_once(&store, &client)) {
        Ok(report) => {
            println!("{report:?}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sync failed: {e}");
            ExitCode::from(1)
        }
    }
}
