//! Pooled connections that keep their prepared statements.
//!
//! The `postgres` client runs a statement given as text in two round trips: one to
//! prepare it, one to run it. An op is a dozen statements, run under the write lock, so on
//! a busy machine most of the lock's time went to those extra round trips. Each pooled
//! [`Conn`] keeps the statements it has prepared, by their text, and a [`Tx`] (its
//! transaction) runs them in one round trip each. The statements' texts are the backend's
//! own constants, so the cache stays small; it is emptied if it ever grows past
//! [`MAX_STATEMENTS`] and when PostgreSQL says a kept statement no longer fits the schema.
//!
//! Written here rather than taken from a crate: `r2d2_postgres` has no statement cache,
//! and the pools that have one (deadpool-postgres, bb8) are async, while this backend is
//! blocking (docs/hq-postgres.md, "The client").

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Error, GenericClient, IsolationLevel, Row, Statement, Transaction};
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::storage::{Result, StorageError};

/// The most statements one connection keeps prepared.
const MAX_STATEMENTS: usize = 256;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What both a connection and a transaction run: the `postgres` client's methods, with
/// statements prepared once per connection, and errors already mapped (rule 5).
pub(super) trait Db {
    fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>>;
    fn execute(&mut self, sql: &str, params: Params) -> Result<u64>;
    fn batch_execute(&mut self, sql: &str) -> Result<()>;

    /// At most one row; more is a mistake in the caller's SQL, as with the client's own.
    fn query_opt(&mut self, sql: &str, params: Params) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            _ => Err(StorageError::Internal(
                "a query for one row returned several".into(),
            )),
        }
    }

    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: Params) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StorageError::Internal("a query for one row returned none".into()))
    }
}

/// The prepared statements of one connection.
#[derive(Default)]
struct Statements(HashMap<String, Statement>);

impl Statements {
    fn get(
        &mut self,
        sql: &str,
        prepare: impl FnOnce(&str) -> std::result::Result<Statement, Error>,
    ) -> Result<Statement> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        if self.0.len() >= MAX_STATEMENTS {
            self.0.clear();
        }
        let statement = prepare(sql)?;
        self.0.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Forgets every statement when PostgreSQL says one no longer fits (the schema changed
    /// under it: "cached plan must not change result type", or a statement it does not
    /// know), so the next use prepares afresh.
    fn check<T>(&mut self, result: std::result::Result<T, Error>) -> Result<T> {
        if let Err(e) = &result {
            if e.as_db_error()
                .is_some_and(|d| matches!(d.code().code(), "0A000" | "26000"))
            {
                self.0.clear();
            }
        }
        Ok(result?)
    }
}

/// A pooled connection.
pub(super) struct Conn {
    client: Client,
    statements: Statements,
}

impl Conn {
    /// A transaction on this connection (read committed, read-write).
    pub(super) fn transaction(&mut self) -> Result<Tx<'_>> {
        Ok(Tx {
            tx: self.client.transaction()?,
            statements: &mut self.statements,
        })
    }

    /// A read-only transaction: one `REPEATABLE READ` snapshot for every statement in it.
    pub(super) fn read_transaction(&mut self) -> Result<Tx<'_>> {
        Ok(Tx {
            tx: self
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?,
            statements: &mut self.statements,
        })
    }
}

/// Runs a query on `client` (a connection or one of its transactions) with the
/// connection's kept statement for `sql`, prepared the first time.
fn query_kept(
    client: &mut impl GenericClient,
    kept: &mut Statements,
    sql: &str,
    params: Params,
) -> Result<Vec<Row>> {
    let statement = kept.get(sql, |s| client.prepare(s))?;
    let result = client.query(&statement, params);
    kept.check(result)
}

/// As [`query_kept`], for a statement that returns no rows.
fn execute_kept(
    client: &mut impl GenericClient,
    kept: &mut Statements,
    sql: &str,
    params: Params,
) -> Result<u64> {
    let statement = kept.get(sql, |s| client.prepare(s))?;
    let result = client.execute(&statement, params);
    kept.check(result)
}

impl Db for Conn {
    fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>> {
        query_kept(&mut self.client, &mut self.statements, sql, params)
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64> {
        execute_kept(&mut self.client, &mut self.statements, sql, params)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }
}

/// A transaction on a pooled connection, running that connection's kept statements.
pub(super) struct Tx<'c> {
    tx: Transaction<'c>,
    statements: &'c mut Statements,
}

impl Tx<'_> {
    pub(super) fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

impl Db for Tx<'_> {
    fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>> {
        query_kept(&mut self.tx, self.statements, sql, params)
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64> {
        execute_kept(&mut self.tx, self.statements, sql, params)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<()> {
        Ok(self.tx.batch_execute(sql)?)
    }
}

/// The pool's connection manager: [`Conn`]s checked with an empty query before they are
/// lent (a connection the server closed is replaced rather than failing a request).
pub(super) struct Manager {
    pub(super) config: postgres::Config,
    pub(super) tls: MakeRustlsConnect,
}

/// TLS to the database (rustls): the server's certificate must chain to `ca_pem` when
/// given, else to the system's roots, and name the host connected to. Whether TLS is used
/// is the URL's `sslmode`: `disable` never, `prefer` (the default) when the server offers
/// it, `require` always (a server without TLS is refused).
pub(super) fn tls(ca_pem: Option<&str>) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| StorageError::Invalid("the database CA file is not PEM".into()))?;
            if certs.is_empty() {
                return Err(StorageError::Invalid(
                    "the database CA file holds no certificate".into(),
                ));
            }
            for cert in certs {
                roots.add(cert).map_err(|_| {
                    StorageError::Invalid("the database CA file holds a bad certificate".into())
                })?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| StorageError::Internal("no TLS versions".into()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = Error;

    fn connect(&self) -> std::result::Result<Conn, Error> {
        Ok(Conn {
            client: self.config.connect(self.tls.clone())?,
            statements: Statements::default(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> std::result::Result<(), Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}
