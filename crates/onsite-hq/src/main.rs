//! `onsite-hq`: run the head-office server, or a demo of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use onsite_hq::guard::Limits;
use onsite_hq::http::{router, AppState};
use onsite_hq::storage::postgres::{self, PostgresStorage};
use onsite_hq::storage::sqlite::SqliteStorage;
use onsite_hq::storage::Storage;
use onsite_hq::{auth, demo, tls};

/// Onsite's head-office server: sync for technicians' devices and the head-office API,
/// over HTTPS. The OpenAPI document is served at /openapi.json.
#[derive(Parser)]
#[command(name = "onsite-hq", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// How log lines are written to stderr: text, or one JSON object per line.
    #[arg(
        long,
        env = "ONSITE_HQ_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    /// A configuration file (TOML; docs/hq-operations.md). A flag or an environment
    /// variable wins over the file, the file over the defaults.
    #[arg(long, env = "ONSITE_HQ_CONFIG", value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
}

/// Takes `from_file` for the setting `id` unless it came from a flag or the environment.
fn file_wins<T>(m: &clap::ArgMatches, id: &str, value: &mut T, from_file: Option<T>) {
    let given = matches!(
        m.value_source(id),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    );
    if let (false, Some(v)) = (given, from_file) {
        *value = v;
    }
}

/// The command line with the configuration file folded in.
fn parse_cli() -> Result<Cli, String> {
    use clap::{CommandFactory, FromArgMatches};
    let m = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
    let Some(path) = cli.config.clone() else {
        return Ok(cli);
    };
    let f = onsite_hq::config::read(&path)?;
    let s = &mut cli.serve;
    file_wins(&m, "data", &mut s.data, f.data);
    file_wins(&m, "database", &mut s.database, f.database.map(Some));
    file_wins(&m, "database_pool", &mut s.database_pool, f.database_pool);
    file_wins(
        &m,
        "database_ca",
        &mut s.database_ca,
        f.database_ca.map(Some),
    );
    file_wins(&m, "listen", &mut s.listen, f.listen);
    file_wins(&m, "cert", &mut s.cert, f.cert.map(Some));
    file_wins(&m, "key", &mut s.key, f.key.map(Some));
    file_wins(&m, "cert_names", &mut s.cert_names, f.cert_names);
    file_wins(
        &m,
        "metrics_listen",
        &mut s.metrics_listen,
        f.metrics_listen.map(Some),
    );
    file_wins(
        &m,
        "shutdown_grace",
        &mut s.shutdown_grace,
        f.shutdown_grace,
    );
    let format = f.log_format.map(|t| {
        if t == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    });
    file_wins(&m, "log_format", &mut cli.log_format, format);
    let (l, fl) = (&mut s.limits, f.limits);
    file_wins(
        &m,
        "request_timeout",
        &mut l.request_timeout,
        fl.request_timeout,
    );
    file_wins(&m, "blob_timeout", &mut l.blob_timeout, fl.blob_timeout);
    file_wins(&m, "max_in_flight", &mut l.max_in_flight, fl.max_in_flight);
    file_wins(
        &m,
        "failed_enrol_per_minute",
        &mut l.failed_enrol_per_minute,
        fl.failed_enrol_per_minute,
    );
    file_wins(
        &m,
        "failed_auth_per_minute",
        &mut l.failed_auth_per_minute,
        fl.failed_auth_per_minute,
    );
    file_wins(
        &m,
        "blob_quota_mib",
        &mut l.blob_quota_mib,
        fl.blob_quota_mib,
    );
    if s.cert.is_some() != s.key.is_some() {
        return Err("cert and key go together (flags or configuration file)".into());
    }
    Ok(cli)
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start a demo head office with sample data (a technician, today's work orders, the
    /// water-purifier fee table) and print its URL, an admin token and an enrolment code.
    Demo(DemoArgs),
    /// Back up the SQLite database into a new file while head office runs (a consistent
    /// snapshot, checked); restore by putting it in place of the database while head
    /// office is stopped (docs/hq-operations.md).
    Backup(BackupArgs),
    /// The office's people: add one (the first administrator comes from here).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person who signs in to the console. The password is asked for on the
    /// terminal (not shown), or read as one line from standard input when it is not a
    /// terminal; never an argument, so it stays out of the shell's history.
    Add(UserAddArgs),
}

#[derive(Args)]
struct UserAddArgs {
    /// Head office's data directory (as given to the server).
    #[arg(long, value_name = "DIR", default_value = "onsite-hq-data")]
    data: PathBuf,
    /// administrator, dispatcher or finance.
    #[arg(long, value_parser = ["administrator", "dispatcher", "finance"])]
    role: String,
    /// The name shown in the console (default: the user name).
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// What they sign in with.
    username: String,
}

#[derive(Args)]
struct BackupArgs {
    /// Head office's data directory (as given to the server).
    #[arg(long, value_name = "DIR", default_value = "onsite-hq-data")]
    data: PathBuf,
    /// The backup file to make (never an existing one).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

#[derive(Args)]
struct ServeArgs {
    /// Directory for the database (onsite-hq.sqlite3), the admin token file and, without
    /// --cert/--key, the self-made TLS CA and certificate (tls/ca.pem, cert.pem, key.pem).
    #[arg(long, value_name = "DIR", default_value = "onsite-hq-data")]
    data: PathBuf,
    /// The database: a postgres:// URL puts head office on PostgreSQL (several instances
    /// may share it; docs/hq-postgres.md). Without it, SQLite in the data directory.
    #[arg(
        long,
        env = "ONSITE_HQ_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// PEM file of the CA that signed the PostgreSQL server's certificate (TLS as the
    /// URL's sslmode asks; without this file, the system's roots are trusted).
    #[arg(long, env = "ONSITE_HQ_DATABASE_CA", value_name = "PEM")]
    database_ca: Option<PathBuf>,
    /// At most this many connections to PostgreSQL from this instance.
    #[arg(long, env = "ONSITE_HQ_DATABASE_POOL", value_name = "N",
          default_value_t = postgres::DEFAULT_POOL_SIZE)]
    database_pool: u32,
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// PEM certificate chain to serve. Without it (and --key), a CA and a certificate are
    /// made at first start and kept in the data directory; devices must trust tls/ca.pem.
    #[arg(long, value_name = "PEM", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    key: Option<PathBuf>,
    /// Host names or IP addresses for the self-made certificate (repeatable; made once,
    /// at first start). Defaults to localhost, 127.0.0.1 and ::1.
    #[arg(long = "cert-name", value_name = "NAME")]
    cert_names: Vec<String>,
    /// The head-office admin token. Without it, the token in <DIR>/admin-token is used,
    /// made at first start.
    #[arg(
        long,
        env = "ONSITE_HQ_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// Start a new server epoch before serving: use once after restoring the database
    /// from a backup, so that every device refetches and re-sends what it holds.
    #[arg(long)]
    new_epoch: bool,
    /// Address and port for Prometheus metrics (plain HTTP, GET /metrics); none by
    /// default. Keep it on an internal network.
    #[arg(long, env = "ONSITE_HQ_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Seconds a stop (SIGTERM or Ctrl-C) waits for requests in flight, pushes included,
    /// to finish before closing their connections.
    #[arg(
        long,
        env = "ONSITE_HQ_SHUTDOWN_GRACE",
        value_name = "SECS",
        default_value_t = 30
    )]
    shutdown_grace: u64,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The limits of this instance (docs/hq-limits.md).
#[derive(Args)]
struct LimitArgs {
    /// Seconds a request may take, its body included; a slower one gets 503 `timeout`.
    #[arg(long, env = "ONSITE_HQ_REQUEST_TIMEOUT", value_name = "SECS",
          default_value_t = Limits::default().request_timeout.as_secs())]
    request_timeout: u64,
    /// Seconds a blob upload may take.
    #[arg(long, env = "ONSITE_HQ_BLOB_TIMEOUT", value_name = "SECS",
          default_value_t = Limits::default().blob_timeout.as_secs())]
    blob_timeout: u64,
    /// Requests handled at once; more get 503 `busy` with Retry-After.
    #[arg(long, env = "ONSITE_HQ_MAX_IN_FLIGHT", value_name = "N",
          default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,
    /// Wrong enrolment codes per client address per minute before it is refused for a
    /// minute (429).
    #[arg(long, env = "ONSITE_HQ_FAILED_ENROL_PER_MINUTE", value_name = "N",
          default_value_t = Limits::default().failed_enrol_per_minute)]
    failed_enrol_per_minute: u32,
    /// Wrong tokens per client address per minute before it is refused for a minute (429).
    #[arg(long, env = "ONSITE_HQ_FAILED_AUTH_PER_MINUTE", value_name = "N",
          default_value_t = Limits::default().failed_auth_per_minute)]
    failed_auth_per_minute: u32,
    /// MiB of new photos, signatures and documents one device may upload in any 24 hours
    /// (429 `blob_quota_exceeded` with Retry-After past it); at least 16 (one largest blob).
    #[arg(long, env = "ONSITE_HQ_BLOB_QUOTA_MIB", value_name = "MIB",
          default_value_t = Limits::default().blob_bytes_per_day / (1024 * 1024))]
    blob_quota_mib: u64,
}

impl LimitArgs {
    fn limits(&self) -> Result<Limits, AnyError> {
        if self.request_timeout == 0 || self.blob_timeout == 0 || self.max_in_flight == 0 {
            return Err(
                "request_timeout, blob_timeout and max_in_flight must be at least 1 \
                        (--request-timeout, --blob-timeout, --max-in-flight, or [limits] in \
                        the configuration file)"
                    .into(),
            );
        }
        let largest_mib = (onsite_api::limits::MAX_BLOB_BYTES / (1024 * 1024)) as u64;
        if self.blob_quota_mib < largest_mib {
            return Err(format!(
                "blob_quota_mib must be at least {largest_mib} (one largest blob) \
                 (--blob-quota-mib, ONSITE_HQ_BLOB_QUOTA_MIB, or [limits] in the \
                 configuration file)"
            )
            .into());
        }
        Ok(Limits {
            request_timeout: Duration::from_secs(self.request_timeout),
            blob_timeout: Duration::from_secs(self.blob_timeout),
            max_in_flight: self.max_in_flight,
            failed_enrol_per_minute: self.failed_enrol_per_minute.max(1),
            failed_auth_per_minute: self.failed_auth_per_minute.max(1),
            blob_bytes_per_day: self.blob_quota_mib.saturating_mul(1024 * 1024),
        })
    }
}

#[derive(Args)]
struct DemoArgs {
    /// Directory for the demo's data (default: a new directory under the system's temp
    /// directory).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("onsite-hq: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // One JSON object per line, for a log collector.
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("onsite-hq: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Demo(args)) => run_demo(args).await,
            Some(Command::Backup(args)) => run_backup(args),
            Some(Command::User(UserCommand::Add(args))) => run_user_add(args),
            None => run_server(cli.serve).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onsite-hq: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn admin_token(data: &Path, given: Option<String>) -> Result<(String, Option<PathBuf>), AnyError> {
    if let Some(t) = given.filter(|t| !t.trim().is_empty()) {
        return Ok((t.trim().to_owned(), None));
    }
    let path = data.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => Ok((t.trim().to_owned(), Some(path))),
        _ => {
            let token = auth::new_token();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&path)?;
            std::io::Write::write_all(&mut file, token.as_bytes())?;
            file.sync_all()?;
            Ok((token, Some(path)))
        }
    }
}

fn default_names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
}

struct Started {
    server: onsite_hq::RunningServer,
    ca: Option<PathBuf>,
    metrics: Arc<onsite_hq::metrics::Metrics>,
}

async fn start(
    storage: Arc<dyn Storage>,
    limits: Limits,
    admin: &str,
    data: &Path,
    listen: SocketAddr,
    cert: Option<(PathBuf, PathBuf)>,
    names: Vec<String>,
) -> Result<Started, AnyError> {
    let (config, ca) = match cert {
        Some((cert, key)) => (tls::server_config_from_files(&cert, &key)?, None),
        None => {
            let names = if names.is_empty() {
                default_names()
            } else {
                names
            };
            let paths = tls::ensure_self_signed(data, &names)?;
            (
                tls::server_config_from_files(&paths.cert, &paths.key)?,
                Some(paths.ca),
            )
        }
    };
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let state = AppState::with_limits(storage, admin, limits);
    let metrics = state.metrics();
    let server = onsite_hq::serve_tls(listener, config, router(state))?;
    Ok(Started {
        server,
        ca,
        metrics,
    })
}

/// Serves the metrics on their own address, plain HTTP.
fn serve_metrics(
    listen: SocketAddr,
    metrics: Arc<onsite_hq::metrics::Metrics>,
) -> Result<onsite_hq::RunningServer, AnyError> {
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| format!("cannot listen for metrics on {listen}: {e}"))?;
    Ok(onsite_hq::serve_plain(
        listener,
        onsite_hq::metrics::router(metrics),
    )?)
}

/// Waits for SIGTERM (systemd, a container runtime) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(e) => tracing::warn!(error = %e, "cannot wait for SIGTERM; Ctrl-C only"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs until a stop signal, then stops accepting connections and lets requests in flight
/// (a push half received, say) finish within `grace` before closing: what a device sent
/// whole is applied and answered, and a device cut off at the grace retries its push,
/// which head office recognises by its op ids.
async fn until_stopped(
    server: onsite_hq::RunningServer,
    metrics: Option<onsite_hq::RunningServer>,
    grace: Duration,
) -> Result<(), AnyError> {
    let handle = server.handle();
    let metrics_handle = metrics.as_ref().map(|m| m.handle());
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "stopping: no new connections; finishing requests in flight"
        );
        handle.graceful_shutdown(Some(grace));
        if let Some(m) = metrics_handle {
            m.graceful_shutdown(Some(Duration::from_secs(1)));
        }
    });
    server.wait().await?;
    if let Some(m) = metrics {
        m.wait().await?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// SQLite in `data`, or PostgreSQL when `database` is a postgres:// URL (opened on the
/// blocking pool: the PostgreSQL client blocks). The URL's password is never logged.
async fn open_storage(
    data: &Path,
    database: Option<String>,
    pool: u32,
    ca: Option<&Path>,
) -> Result<Arc<dyn Storage>, AnyError> {
    match database {
        None => Ok(Arc::new(SqliteStorage::open_in_dir(data)?)),
        Some(url) if postgres::is_postgres_url(&url) => {
            tracing::info!(database = %postgres::redacted(&url), pool, "PostgreSQL");
            let ca_pem = match ca {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the database CA file {}: {e}", path.display())
                })?),
                None => None,
            };
            let storage = tokio::task::spawn_blocking(move || {
                PostgresStorage::connect_with_ca(&url, pool, ca_pem.as_deref())
            })
            .await??;
            Ok(Arc::new(storage))
        }
        Some(_) => Err("--database takes a postgres:// URL (without it: SQLite in --data)".into()),
    }
}

async fn run_server(args: ServeArgs) -> Result<(), AnyError> {
    // Flags first: a mistake is reported before anything is made or opened.
    let limits = args.limits.limits()?;
    std::fs::create_dir_all(&args.data)?;
    let storage = open_storage(
        &args.data,
        args.database.clone(),
        args.database_pool,
        args.database_ca.as_deref(),
    )
    .await?;
    if args.new_epoch {
        let s = storage.clone();
        let epoch = tokio::task::spawn_blocking(move || s.rotate_epoch()).await??;
        tracing::warn!(%epoch, "new server epoch: every device will refetch");
    }
    let (admin, admin_path) = admin_token(&args.data, args.admin_token)?;
    let cert = args.cert.zip(args.key);
    let started = start(
        storage,
        limits,
        &admin,
        &args.data,
        args.listen,
        cert,
        args.cert_names,
    )
    .await?;
    println!("onsite-hq listening on https://{}", started.server.addr);
    if let Some(ca) = &started.ca {
        println!("devices must trust the CA certificate: {}", ca.display());
    }
    if let Some(path) = admin_path {
        println!("admin token: in {}", path.display());
    }
    let metrics = match args.metrics_listen {
        Some(addr) => {
            let m = serve_metrics(addr, started.metrics.clone())?;
            println!("metrics on http://{}/metrics", m.addr);
            Some(m)
        }
        None => None,
    };
    until_stopped(
        started.server,
        metrics,
        Duration::from_secs(args.shutdown_grace),
    )
    .await
}

fn read_password() -> Result<String, AnyError> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat it: ")?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn run_user_add(args: UserAddArgs) -> Result<(), AnyError> {
    use onsite_hq::accounts;
    let username = args.username.trim().to_owned();
    accounts::check_username(&username)?;
    let role = accounts::Role::parse(&args.role).ok_or("unknown role")?;
    let display = args.display_name.unwrap_or_else(|| username.clone());
    onsite_hq::rules::check_name("display_name", &display)?;
    let password = read_password()?;
    accounts::check_new_password(&password, &username)?;
    let storage = SqliteStorage::open_in_dir(&args.data)?;
    let store = storage
        .accounts()
        .ok_or("this database does not keep accounts")?;
    let user = store
        .create_user(
            &onsite_hq::storage::accounts::NewUser {
                id: uuid::Uuid::now_v7(),
                username: &username,
                display_name: display.trim(),
                role,
                password_hash: &accounts::hash_password(&password),
            },
            chrono::Utc::now(),
        )
        .map_err(|e| match e {
            onsite_hq::storage::StorageError::Conflict(_) => {
                format!("a user named {username} exists already")
            }
            e => e.to_string(),
        })?;
    println!("added {} ({})", user.username, user.role.as_str());
    Ok(())
}

fn run_backup(args: BackupArgs) -> Result<(), AnyError> {
    use onsite_hq::storage::sqlite::backup;
    let b = backup::backup(&args.data, &args.to).map_err(|e| match e {
        onsite_hq::storage::StorageError::NotFound => format!(
            "no database in {} (is --data head office's data directory?)",
            args.data.display()
        ),
        e => format!("backup failed: {e}"),
    })?;
    println!(
        "backed up to {}: {} bytes, schema version {}, newest commit {}",
        args.to.display(),
        b.bytes,
        b.schema_version,
        b.newest_commit
    );
    Ok(())
}

async fn run_demo(args: DemoArgs) -> Result<(), AnyError> {
    let data = match args.data {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("onsite-hq-demo-{}", uuid::Uuid::now_v7())),
    };
    std::fs::create_dir_all(&data)?;
    let storage = SqliteStorage::open_in_dir(&data)?;
    let seeded = demo::seed(&storage, chrono::Utc::now())?;
    // A demo login for the console: an administrator with a password made now.
    let demo_password = onsite_hq::auth::new_token();
    if let Some(a) = storage.accounts() {
        let made = a.create_user(
            &onsite_hq::storage::accounts::NewUser {
                id: uuid::Uuid::now_v7(),
                username: "demo.admin",
                display_name: "Demo administrator",
                role: onsite_hq::accounts::Role::Administrator,
                password_hash: &onsite_hq::accounts::hash_password(&demo_password),
            },
            chrono::Utc::now(),
        );
        if let Err(e) = made {
            tracing::warn!(error = %e, "no demo login");
        }
    }
    let (admin, _) = admin_token(&data, None)?;
    let started = start(
        Arc::new(storage),
        Limits::default(),
        &admin,
        &data,
        args.listen,
        None,
        default_names(),
    )
    .await?;
    let addr = started.server.addr;
    println!("Onsite demo head office");
    println!("  URL:             https://{addr}");
    if let Some(ca) = &started.ca {
        println!("  CA certificate:  {}", ca.display());
    }
    println!("  admin token:     {admin}");
    println!(
        "  enrolment code:  {} (for {})",
        seeded.enrolment_code, seeded.technician_name
    );
    println!("  work orders:     {}", seeded.work_orders.len());
    println!("  console login:   demo.admin / {demo_password}");
    println!("  data directory:  {}", data.display());
    println!("  API description: https://{addr}/openapi.json");
    println!("Press Ctrl-C to stop.");
    until_stopped(started.server, None, Duration::from_secs(10)).await
}
