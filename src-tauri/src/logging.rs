//! The app's log: `tracing` lines on stderr, or appended to the file named by
//! `ONSITE_LOG_FILE` (created owner-only), filtered by `RUST_LOG` (default `info`).
//!
//! What is logged names records by their ids, counts and error codes, never by their
//! content: customer names, phones, addresses and free text stay out of the log (the E2E
//! test `privacy::logs_hold_no_customer_data` searches both logs for them).

use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let file = std::env::var_os("ONSITE_LOG_FILE")
        .filter(|p| !p.is_empty())
        .map(|path| {
            onsite_store::private_files::open_options()
                .create(true)
                .append(true)
                .open(path)
        });
    match file {
        Some(Ok(file)) => builder
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .init(),
        Some(Err(e)) => {
            builder.with_writer(std::io::stderr).init();
            tracing::warn!(error = %e, "cannot open ONSITE_LOG_FILE; logging to stderr");
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
}
