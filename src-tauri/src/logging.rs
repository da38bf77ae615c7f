//! The app's log: `tracing` lines on stderr, or appended to the file named by
//! `ONSITE_LOG_FILE` (created owner-only), filtered by `RUST_LOG` (default `info`).
//! Libraries that log through `log` (tauri, reqwest, rustls) are passed on to the same log.
//!
//! What is logged names records by their ids, counts and error codes, never by their
//! content: customer names, phones, addresses and free text stay out of the log (the E2E
//! test `tests/tests/privacy.rs` searches the app's and head office's logs for them).

use std::sync::Mutex;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let most = filter.max_level_hint().unwrap_or(LevelFilter::TRACE);
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
    if log::set_logger(&LogBridge).is_ok() {
        log::set_max_level(match most.into_level() {
            None => log::LevelFilter::Off,
            Some(tracing::Level::ERROR) => log::LevelFilter::Error,
            Some(tracing::Level::WARN) => log::LevelFilter::Warn,
            Some(tracing::Level::INFO) => log::LevelFilter::Info,
            Some(tracing::Level::DEBUG) => log::LevelFilter::Debug,
            Some(tracing::Level::TRACE) => log::LevelFilter::Trace,
        });
    }
}

/// Passes `log` records on as `tracing` events (target `log`; the library's own target in
/// the field `from`), so that RUST_LOG's level applies to them too.
struct LogBridge;

impl log::Log for LogBridge {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, r: &log::Record) {
        let from = r.target();
        let text = r.args();
        match r.level() {
            log::Level::Error => tracing::error!(target: "log", from, "{text}"),
            log::Level::Warn => tracing::warn!(target: "log", from, "{text}"),
            log::Level::Info => tracing::info!(target: "log", from, "{text}"),
            log::Level::Debug => tracing::debug!(target: "log", from, "{text}"),
            log::Level::Trace => tracing::trace!(target: "log", from, "{text}"),
        }
    }

    fn flush(&self) {}
}
