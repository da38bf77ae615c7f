//! Parts from the van: taking parts for a job, returns (unused and old parts), stock-takes
//! and van-stock search. Stock only moves through `stock_movement` rows; a trigger keeps
//! `van_stock.quantity` equal to the sum of each part's movements (0003_visit.sql).

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::rules::LineStatus;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::quote::{self, Decision};
use super::{
    append, new_id, open_order, quantity, text, Step, VisitError, VisitResult, MAX_PART_QUANTITY,
};
use crate::{outbox, ts, StoreError};

/// A part in the van.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VanStockItem {
    pub part_id: String,
    pub part_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub price_minor: i64,
    pub serialized: bool,
    pub consumable: bool,
    pub return_required: bool,
    pub quantity: i64,
}

const STOCK_COLUMNS: &str = "p.id, p.part_no, p.name_zh, p.name_en, p.category, p.price_minor,
     p.serialized, p.consumable, p.return_required, coalesce(s.quantity, 0)";

fn stock_item(r: &rusqlite::Row) -> rusqlite::Result<VanStockItem> {
    Ok(VanStockItem {
        part_id: r.get(0)?,
        part_no: r.get(1)?,
        name_zh: r.get(2)?,
        name_en: r.get(3)?,
        category: r.get(4)?,
        price_minor: r.get(5)?,
        serialized: r.get(6)?,
        consumable: r.get(7)?,
        return_required: r.get(8)?,
        quantity: r.get(9)?,
    })
}

/// Every part the van carries (or has carried), by part number.
pub fn van_stock(conn: &Connection) -> VisitResult<Vec<VanStockItem>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STOCK_COLUMNS} FROM van_stock s JOIN part p ON p.id = s.part_id ORDER BY p.part_no"
    ))?;
    let items = stmt
        .query_map([], stock_item)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items)
}

fn part(conn: &Connection, part_id: &str) -> VisitResult<VanStockItem> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STOCK_COLUMNS} FROM part p LEFT JOIN van_stock s ON s.part_id = p.id WHERE p.id = ?1"
    ))?;
    Ok(stmt
        .query_row([part_id], stock_item)
        .optional()?
        .ok_or(StoreError::NotFound("part"))?)
}

/// Scan-friendly lookup: the part whose number is exactly `code` (case, surrounding
/// spaces and a scanner's trailing newline ignored).
pub fn find_part_no(conn: &Connection, code: &str) -> VisitResult<Option<VanStockItem>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STOCK_COLUMNS} FROM part p LEFT JOIN van_stock s ON s.part_id = p.id
         WHERE p.part_no = ?1 COLLATE NOCASE"
    ))?;
    Ok(stmt.query_row([code], stock_item).optional()?)
}

/// Catalogue parts matching `query` in the part number or either name, with the van's
/// quantity (0 when the van has none: such a part can be quoted, and taken only with an
/// override): exact part numbers first, then prefixes, then substrings; within each, the
/// parts in the van first, then by part number.
pub fn search_van_stock(
    conn: &Connection,
    query: &str,
    limit: usize,
) -> VisitResult<Vec<VanStockItem>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let escaped: String = query
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STOCK_COLUMNS},
                CASE WHEN p.part_no = ?1 COLLATE NOCASE THEN 0
                     WHEN p.part_no LIKE ?2 || '%' ESCAPE '\\' OR p.name_en LIKE ?2 || '%' ESCAPE '\\'
                          OR p.name_zh LIKE ?2 || '%' ESCAPE '\\' THEN 1
                     ELSE 2 END AS rank
         FROM part p LEFT JOIN van_stock s ON s.part_id = p.id
         WHERE p.part_no LIKE '%' || ?2 || '%' ESCAPE '\\'
            OR p.name_en LIKE '%' || ?2 || '%' ESCAPE '\\'
            OR p.name_zh LIKE '%' || ?2 || '%' ESCAPE '\\'
         ORDER BY rank, coalesce(s.quantity, 0) <= 0, p.part_no LIMIT ?3"
    ))?;
    let items = stmt
        .query_map(params![query, escaped, limit as i64], stock_item)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items)
}

/// Makes sure the part has a van_stock row (its opening movement is 0).
fn ensure_stock_row(tx: &Transaction, part_id: &str, now: DateTime<Utc>) -> VisitResult<()> {
    tx.execute(
        "INSERT INTO van_stock (part_id, quantity, updated_at) VALUES (?1, 0, ?2)
         ON CONFLICT (part_id) DO NOTHING",
        params![part_id, ts(now)],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn movement(
    tx: &Transaction,
    part_id: &str,
    kind: &str,
    delta: i64,
    work_order_id: Option<&str>,
    ref_id: &str,
    override_reason: Option<&str>,
    op_id: &str,
    now: DateTime<Utc>,
) -> VisitResult<()> {
    ensure_stock_row(tx, part_id, now)?;
    tx.execute(
        "INSERT INTO stock_movement (part_id, kind, delta, work_order_id, ref_id,
                                     override_reason, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            part_id,
            kind,
            delta,
            work_order_id,
            ref_id,
            override_reason,
            ts(now),
            op_id
        ],
    )?;
    Ok(())
}

/// Taking a part from the van for a job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TakePart {
    pub part_id: String,
    pub quantity: i64,
    /// Serialized parts: the serial of the part fitted (required).
    pub serial_fitted: Option<String>,
    /// Serialized parts: the serial of the part removed from the appliance (required).
    pub serial_removed: Option<String>,
    /// Taking more than the van holds needs a reason (the count was wrong, a part borrowed
    /// from a colleague...).
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartUse {
    pub id: String,
    pub part_id: String,
    pub part_no: String,
    pub quantity: i64,
    pub serial_fitted: Option<String>,
    pub serial_removed: Option<String>,
    pub override_reason: Option<String>,
    pub at: String,
    /// Quantity of old parts handed back for this use.
    pub old_returned: i64,
}

#[derive(Serialize)]
struct TakePayload<'a> {
    work_order_id: &'a str,
    part_use_id: &'a str,
    part_id: &'a str,
    part_no: &'a str,
    quote_id: &'a str,
    quantity: i64,
    serial_fitted: Option<&'a str>,
    serial_removed: Option<&'a str>,
    override_reason: Option<&'a str>,
    stock_after: i64,
    at: String,
}

fn serial(value: &Option<String>) -> VisitResult<Option<String>> {
    Ok(value
        .as_deref()
        .map(|s| text("a serial number", s, 100))
        .transpose()?
        .filter(|s| !s.is_empty()))
}

/// Takes a part from the van for a job: it must be on the job's current quote (up to the
/// quoted quantity), and the quote must be accepted if it charges anything. Stock cannot
/// go below zero without an override reason. Returns the part use's id.
pub fn take_part(
    tx: &Transaction,
    work_order_id: &str,
    take: &TakePart,
    now: DateTime<Utc>,
) -> VisitResult<String> {
    let order = open_order(tx, work_order_id, Step::Work)?;
    let qty = quantity(take.quantity, 1, MAX_PART_QUANTITY)?;
    let part = part(tx, &take.part_id)?;
    let serial_fitted = serial(&take.serial_fitted)?;
    let serial_removed = serial(&take.serial_removed)?;
    if part.serialized {
        if qty != 1 {
            return Err(VisitError::InvalidQuantity {
                quantity: qty,
                min: 1,
                max: 1,
            });
        }
        if serial_fitted.is_none() {
            return Err(VisitError::SerialRequired {
                part_no: part.part_no,
                what: "the serial of the part fitted",
            });
        }
        if serial_removed.is_none() {
            return Err(VisitError::SerialRequired {
                part_no: part.part_no,
                what: "the serial of the part removed",
            });
        }
    }
    let override_reason = take
        .override_reason
        .as_deref()
        .map(|r| text("the override reason", r, 500))
        .transpose()?
        .filter(|r| !r.is_empty());

    let quote = quote::current(tx, &order.id)?.ok_or(VisitError::NoQuote)?;
    match quote.decision.as_ref().map(|d| d.decision) {
        Some(Decision::Accepted) => {}
        Some(Decision::Declined) => return Err(VisitError::QuoteNotAccepted),
        None if quote.priced.totals.due.minor > 0 => return Err(VisitError::QuoteNotAccepted),
        None => {}
    }
    let quoted: i64 = quote
        .priced
        .lines
        .iter()
        .filter(|l| l.code == part.part_no)
        .map(|l| i64::from(l.quantity))
        .sum();
    let taken: i64 = tx.query_row(
        "SELECT coalesce(sum(quantity), 0) FROM visit_part_use
         WHERE work_order_id = ?1 AND part_id = ?2 AND quote_id = ?3",
        params![order.id, part.part_id, quote.id],
        |r| r.get(0),
    )?;
    if quoted == 0 {
        return Err(VisitError::PartNotQuoted {
            part_no: part.part_no,
        });
    }
    // More than the quote leaves to take: the quantity is wrong, not the quote.
    if taken + qty > quoted {
        return Err(VisitError::InvalidQuantity {
            quantity: qty,
            min: 1,
            max: (quoted - taken).max(0),
        });
    }
    if part.quantity - qty < 0 && override_reason.is_none() {
        return Err(VisitError::InsufficientStock {
            part_no: part.part_no,
            available: part.quantity,
            requested: qty,
        });
    }
    // An override is only recorded when it was needed.
    let override_reason = override_reason.filter(|_| part.quantity - qty < 0);
    let order = super::begin_work(tx, order, now)?;

    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::CONSUME_PART,
        &order.id,
        Some(order.version),
        &TakePayload {
            work_order_id: &order.id,
            part_use_id: &id,
            part_id: &part.part_id,
            part_no: &part.part_no,
            quote_id: &quote.id,
            quantity: qty,
            serial_fitted: serial_fitted.as_deref(),
            serial_removed: serial_removed.as_deref(),
            override_reason: override_reason.as_deref(),
            stock_after: part.quantity - qty,
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO visit_part_use (id, work_order_id, part_id, quantity, serial_fitted,
                                     serial_removed, quote_id, override_reason, at, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            order.id,
            part.part_id,
            qty,
            serial_fitted,
            serial_removed,
            quote.id,
            override_reason,
            ts(now),
            op_id
        ],
    )?;
    movement(
        tx,
        &part.part_id,
        "consume",
        -qty,
        Some(&order.id),
        &id,
        override_reason.as_deref(),
        &op_id,
        now,
    )?;
    Ok(id)
}

pub(crate) fn uses(conn: &Connection, work_order_id: &str) -> VisitResult<Vec<PartUse>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.part_id, p.part_no, u.quantity, u.serial_fitted, u.serial_removed,
                u.override_reason, u.at,
                (SELECT coalesce(sum(r.quantity), 0) FROM part_return r WHERE r.part_use_id = u.id)
         FROM visit_part_use u JOIN part p ON p.id = u.part_id
         WHERE u.work_order_id = ?1 ORDER BY u.seq",
    )?;
    let uses = stmt
        .query_map([work_order_id], |r| {
            Ok(PartUse {
                id: r.get(0)?,
                part_id: r.get(1)?,
                part_no: r.get(2)?,
                quantity: r.get(3)?,
                serial_fitted: r.get(4)?,
                serial_removed: r.get(5)?,
                override_reason: r.get(6)?,
                at: r.get(7)?,
                old_returned: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(uses)
}

/// A part marked to go back to the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartReturn {
    pub id: String,
    /// `unused` or `old`.
    pub kind: String,
    pub part_id: String,
    pub quantity: i64,
    pub part_use_id: Option<String>,
    pub serial: Option<String>,
    pub at: String,
}

pub(crate) fn returns(conn: &Connection, work_order_id: &str) -> VisitResult<Vec<PartReturn>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, part_id, quantity, part_use_id, serial, at FROM part_return
         WHERE work_order_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([work_order_id], |r| {
            Ok(PartReturn {
                id: r.get(0)?,
                kind: r.get(1)?,
                part_id: r.get(2)?,
                quantity: r.get(3)?,
                part_use_id: r.get(4)?,
                serial: r.get(5)?,
                at: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[derive(Serialize)]
struct ReturnPayload<'a> {
    return_id: &'a str,
    kind: &'a str,
    part_id: &'a str,
    quantity: i64,
    work_order_id: Option<&'a str>,
    part_use_id: Option<&'a str>,
    serial: Option<&'a str>,
    /// Old parts: the quote whose deposit line was reversed and the amount.
    quote_id: Option<&'a str>,
    reversed_line: Option<usize>,
    reversed_minor: i64,
    /// The technician's local calendar day (an unused return without a job is filed under
    /// it at head office).
    day: NaiveDate,
    at: String,
}

/// [`return_unused_on`] on the device's local day at `now` ([`local_day`]).
pub fn return_unused(
    tx: &Transaction,
    part_id: &str,
    qty: i64,
    work_order_id: Option<&str>,
    now: DateTime<Utc>,
) -> VisitResult<String> {
    return_unused_on(tx, part_id, qty, work_order_id, local_day(now), now)
}

/// Marks parts from the van's stock to go back to the warehouse (they leave the van).
/// `work_order_id`: the job they were brought for, if any; `day`: the technician's local
/// calendar day (a return without a job is filed under it at head office). Returns the
/// return's id.
pub fn return_unused_on(
    tx: &Transaction,
    part_id: &str,
    qty: i64,
    work_order_id: Option<&str>,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> VisitResult<String> {
    let qty = quantity(qty, 1, MAX_PART_QUANTITY)?;
    let part = part(tx, part_id)?;
    if let Some(id) = work_order_id {
        super::order(tx, id)?;
    }
    if part.quantity < qty {
        return Err(VisitError::InsufficientStock {
            part_no: part.part_no,
            available: part.quantity,
            requested: qty,
        });
    }
    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::RETURN_PART,
        work_order_id.unwrap_or(&part.part_id),
        None,
        &ReturnPayload {
            return_id: &id,
            kind: "unused",
            part_id: &part.part_id,
            quantity: qty,
            work_order_id,
            part_use_id: None,
            serial: None,
            quote_id: None,
            reversed_line: None,
            reversed_minor: 0,
            day,
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO part_return (id, kind, part_id, quantity, work_order_id, at, op_id)
         VALUES (?1, 'unused', ?2, ?3, ?4, ?5, ?6)",
        params![id, part.part_id, qty, work_order_id, ts(now), op_id],
    )?;
    movement(
        tx,
        &part.part_id,
        "return_unused",
        -qty,
        work_order_id,
        &id,
        None,
        &op_id,
        now,
    )?;
    Ok(id)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldPartReturn {
    pub return_id: String,
    /// The deposit reversed on the job's current quote (0 if none was held).
    pub reversed_minor: i64,
}

/// The old part removed when `part_use_id` was fitted is handed back to the warehouse.
/// If the job's current quote holds a deposit on that part and all its old parts are now
/// back, the deposit is reversed (the rules' `reverse_deposit`).
pub fn return_old_part(
    tx: &Transaction,
    part_use_id: &str,
    now: DateTime<Utc>,
) -> VisitResult<OldPartReturn> {
    let use_row = tx
        .query_row(
            "SELECT u.work_order_id, u.part_id, p.part_no, u.quantity, u.serial_removed
             FROM visit_part_use u JOIN part p ON p.id = u.part_id WHERE u.id = ?1",
            [part_use_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let (work_order_id, part_id, part_no, qty, serial) =
        use_row.ok_or(StoreError::NotFound("part use"))?;
    let order = open_order(tx, &work_order_id, Step::OldPart)?;
    let already: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM part_return WHERE part_use_id = ?1)",
        [part_use_id],
        |r| r.get(0),
    )?;
    if already {
        return Err(VisitError::AlreadyReturned {
            part_use_id: part_use_id.into(),
        });
    }
    let returned_before: i64 = tx.query_row(
        "SELECT coalesce(sum(quantity), 0) FROM part_return
         WHERE work_order_id = ?1 AND part_id = ?2 AND kind = 'old'",
        params![order.id, part_id],
        |r| r.get(0),
    )?;
    let returned = returned_before + qty;

    let mut reversal: Option<(String, usize, i64)> = None;
    if let Some(quote) = quote::current(tx, &order.id)? {
        let line = quote.current.lines.iter().enumerate().find(|(_, l)| {
            l.code == part_no
                && l.status == LineStatus::Deposit
                && returned >= i64::from(l.quantity)
        });
        if let Some((index, line)) = line {
            reversal = Some((quote.id.clone(), index, line.charged.minor));
        }
    }
    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::RETURN_PART,
        &order.id,
        Some(order.version),
        &ReturnPayload {
            return_id: &id,
            kind: "old",
            part_id: &part_id,
            quantity: qty,
            work_order_id: Some(&order.id),
            part_use_id: Some(part_use_id),
            serial: serial.as_deref(),
            quote_id: reversal.as_ref().map(|r| r.0.as_str()),
            reversed_line: reversal.as_ref().map(|r| r.1),
            reversed_minor: reversal.as_ref().map_or(0, |r| r.2),
            day: local_day(now),
            at: ts(now),
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO part_return (id, kind, part_id, quantity, work_order_id, part_use_id,
                                  serial, at, op_id)
         VALUES (?1, 'old', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            part_id,
            qty,
            order.id,
            part_use_id,
            serial,
            ts(now),
            op_id
        ],
    )?;
    if let Some((quote_id, line, amount)) = &reversal {
        tx.execute(
            "INSERT INTO visit_deposit_reversal (quote_id, line_index, amount_minor, return_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![quote_id, *line as i64, amount, id, ts(now)],
        )?;
    }
    Ok(OldPartReturn {
        return_id: id,
        reversed_minor: reversal.map_or(0, |r| r.2),
    })
}

/// One part counted in a stock-take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockCount {
    pub part_id: String,
    pub counted: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockTakeLine {
    pub part_id: String,
    pub expected: i64,
    pub counted: i64,
    pub difference: i64,
}

/// The device's local calendar day at `now` (the system time zone): what the technician
/// saw when recording a fact filed by day.
pub fn local_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono::Local).date_naive()
}

/// [`stock_take_on`] on the device's local day at `now` ([`local_day`]).
pub fn stock_take(
    tx: &Transaction,
    counts: &[StockCount],
    now: DateTime<Utc>,
) -> VisitResult<(String, Vec<StockTakeLine>)> {
    stock_take_on(tx, counts, local_day(now), now)
}

/// Records a stock-take: for each part counted, the expected quantity (the ledger's) and
/// the count; each difference becomes a `stock_take` movement. Returns the lines. `day` is
/// the technician's local calendar day (head office files the stock-take under it).
pub fn stock_take_on(
    tx: &Transaction,
    counts: &[StockCount],
    day: NaiveDate,
    now: DateTime<Utc>,
) -> VisitResult<(String, Vec<StockTakeLine>)> {
    if counts.is_empty() || counts.len() > 10_000 {
        return Err(VisitError::Invalid(
            "a stock-take needs 1 to 10,000 counts".into(),
        ));
    }
    let mut lines = Vec::with_capacity(counts.len());
    let mut seen = std::collections::HashSet::new();
    for c in counts {
        let counted = quantity(c.counted, 0, 100_000)?;
        if !seen.insert(c.part_id.as_str()) {
            return Err(VisitError::Invalid("a part is counted twice".into()));
        }
        let expected = part(tx, &c.part_id)?.quantity;
        lines.push(StockTakeLine {
            part_id: c.part_id.clone(),
            expected,
            counted,
            difference: counted - expected,
        });
    }
    let id = new_id();
    let op_id = append(
        tx,
        outbox::kind::STOCK_TAKE,
        &id,
        None,
        &serde_json::json!({ "stock_take_id": id, "lines": lines, "day": day, "at": ts(now) }),
        now,
    )?;
    tx.execute(
        "INSERT INTO stock_take (id, at, op_id) VALUES (?1, ?2, ?3)",
        params![id, ts(now), op_id],
    )?;
    for line in &lines {
        tx.execute(
            "INSERT INTO stock_take_line (stock_take_id, part_id, expected, counted)
             VALUES (?1, ?2, ?3, ?4)",
            params![id, line.part_id, line.expected, line.counted],
        )?;
        if line.difference != 0 {
            movement(
                tx,
                &line.part_id,
                "stock_take",
                line.difference,
                None,
                &id,
                None,
                &op_id,
                now,
            )?;
        }
    }
    Ok((id, lines))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockMovement {
    pub kind: String,
    pub delta: i64,
    pub work_order_id: Option<String>,
    pub override_reason: Option<String>,
    pub at: String,
}

/// A part's ledger, oldest first.
pub fn stock_movements(conn: &Connection, part_id: &str) -> VisitResult<Vec<StockMovement>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, delta, work_order_id, override_reason, at FROM stock_movement
         WHERE part_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([part_id], |r| {
            Ok(StockMovement {
                kind: r.get(0)?,
                delta: r.get(1)?,
                work_order_id: r.get(2)?,
                override_reason: r.get(3)?,
                at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
