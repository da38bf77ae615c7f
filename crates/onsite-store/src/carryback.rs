//! Carry-back: the appliance goes to the workshop against a signed receipt and comes back
//! against the receipt (or a record of its loss) and a second signature. The goods in/out
//! log is `carry_back` plus one `carry_back_event` per state.

use chrono::{DateTime, NaiveDate, Utc};
use onsite_domain::carryback::{overdue, CarryBackState};
use onsite_domain::view::CarryBackView;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use crate::{outbox, parse_ts, ts, StoreError, StoreResult};

/// A customer's signature captured on screen, PNG already stored by its hash.
pub struct Signed<'a> {
    pub signer_name: &'a str,
    pub strokes: &'a serde_json::Value,
    pub png_sha256: &'a str,
}

pub struct NewCarryBack<'a> {
    pub work_order_id: &'a str,
    pub item: &'a str,
    pub serial_no: Option<&'a str>,
    pub accessories: &'a [String],
    pub condition: &'a str,
    pub fault: &'a str,
    pub expected_return: NaiveDate,
    pub photos: &'a [String],
    pub signature: Signed<'a>,
}

fn check_signature(s: &Signed) -> StoreResult<String> {
    let signer = crate::documents::check_signer(s.signer_name, s.strokes)?;
    if s.png_sha256.len() != 64 || !s.png_sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(
            "signature image reference is not a SHA-256".into(),
        ));
    }
    Ok(signer)
}

fn short(text: &str, max: usize, what: &str) -> StoreResult<String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(StoreError::Invalid(format!(
            "{what} longer than {max} characters"
        )));
    }
    Ok(text.to_string())
}

fn event(tx: &Transaction, id: &str, state: CarryBackState, now: DateTime<Utc>) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO carry_back_event (carry_back_id, state, at) VALUES (?1, ?2, ?3)",
        params![id, state.as_str(), ts(now)],
    )?;
    Ok(())
}

/// Takes an appliance to the workshop: records it, its photos and the customer's signature,
/// opens the log, and writes one outbox operation. `today` is the technician's local date.
pub fn take(
    tx: &Transaction,
    c: &NewCarryBack,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<CarryBackView> {
    let signer = check_signature(&c.signature)?;
    let item = short(c.item, 200, "item")?;
    if item.is_empty() {
        return Err(StoreError::Invalid(
            "the item taken must be described".into(),
        ));
    }
    if c.expected_return < today {
        return Err(StoreError::Invalid(
            "the expected return date is in the past".into(),
        ));
    }
    if c.accessories.len() > 50 || c.photos.len() > 20 {
        return Err(StoreError::Invalid("too many accessories or photos".into()));
    }
    let accessories: Vec<String> = c
        .accessories
        .iter()
        .map(|a| short(a, 100, "accessory"))
        .collect::<StoreResult<Vec<_>>>()?
        .into_iter()
        .filter(|a| !a.is_empty())
        .collect();
    crate::documents::require_not_cancelled(tx, c.work_order_id)?;
    let id = uuid::Uuid::now_v7().to_string();
    // Unique across devices: date plus the start of the record's own random id.
    let receipt_no = format!(
        "CB-{}-{}",
        today.format("%Y%m%d"),
        id.replace('-', "")[24..].to_ascii_uppercase()
    );
    tx.execute(
        "INSERT INTO carry_back (id, receipt_no, work_order_id, item, serial_no, accessories,
             condition, fault, expected_return, state, taken_at, taken_signer, taken_png_sha256,
             taken_strokes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'taken', ?10, ?11, ?12, ?13)",
        params![
            id,
            receipt_no,
            c.work_order_id,
            item,
            c.serial_no.map(str::trim).filter(|s| !s.is_empty()),
            serde_json::to_string(&accessories)?,
            short(c.condition, 2000, "condition")?,
            short(c.fault, 2000, "fault")?,
            c.expected_return.to_string(),
            ts(now),
            signer,
            c.signature.png_sha256,
            serde_json::to_string(c.signature.strokes)?,
        ],
    )?;
    for photo in c.photos {
        if photo.len() != 64 || !photo.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Err(StoreError::Invalid(
                "photo reference is not a SHA-256".into(),
            ));
        }
        tx.execute(
            "INSERT OR IGNORE INTO carry_back_photo (carry_back_id, sha256) VALUES (?1, ?2)",
            params![id, photo],
        )?;
    }
    event(tx, &id, CarryBackState::Taken, now)?;
    outbox::append(
        tx,
        outbox::kind::TAKE_CARRY_BACK,
        c.work_order_id,
        None,
        &serde_json::json!({
            "carry_back_id": id,
            "work_order_id": c.work_order_id,
            "receipt_no": receipt_no,
            "item": item,
            "serial_no": c.serial_no,
            "accessories": accessories,
            "condition": c.condition.trim(),
            "fault": c.fault.trim(),
            "expected_return": c.expected_return,
            "photos": c.photos,
            "signer_name": signer,
            "png_sha256": c.signature.png_sha256,
            "at": ts(now),
        }),
        now,
    )?;
    get(tx, &id, today)
}

fn current_state(tx: &Transaction, id: &str) -> StoreResult<(CarryBackState, String)> {
    let (state, work_order_id): (String, String) = tx
        .query_row(
            "SELECT state, work_order_id FROM carry_back WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or(StoreError::NotFound("carry-back"))?;
    let state = CarryBackState::parse(&state)
        .ok_or_else(|| StoreError::Invalid("unknown carry-back state in the database".into()))?;
    Ok((state, work_order_id))
}

/// Moves an item along the log: taken → at the workshop → repaired.
pub fn advance(
    tx: &Transaction,
    id: &str,
    to: CarryBackState,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<CarryBackView> {
    let (state, work_order_id) = current_state(tx, id)?;
    if to == CarryBackState::Returned || state.next() != Some(to) {
        return Err(StoreError::Invalid(format!(
            "a carry-back cannot go from {} to {}",
            state.as_str(),
            to.as_str()
        )));
    }
    tx.execute(
        "UPDATE carry_back SET state = ?2 WHERE id = ?1",
        params![id, to.as_str()],
    )?;
    event(tx, id, to, now)?;
    outbox::append(
        tx,
        outbox::kind::ADVANCE_CARRY_BACK,
        &work_order_id,
        None,
        &serde_json::json!({ "carry_back_id": id, "from": state.as_str(), "to": to.as_str(), "at": ts(now) }),
        now,
    )?;
    get(tx, id, today)
}

/// Hands the repaired appliance back: the receipt is collected (or its loss recorded with
/// a note), the customer signs, and the log closes.
pub fn return_item(
    tx: &Transaction,
    id: &str,
    receipt_collected: bool,
    lost_note: Option<&str>,
    signature: &Signed,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<CarryBackView> {
    let (state, work_order_id) = current_state(tx, id)?;
    if state != CarryBackState::Repaired {
        return Err(StoreError::Invalid(format!(
            "only a repaired item can be returned (this one is {})",
            state.as_str()
        )));
    }
    let note = lost_note.map(str::trim).filter(|n| !n.is_empty());
    if !receipt_collected && note.is_none() {
        return Err(StoreError::Invalid("a lost receipt needs a note".into()));
    }
    let note = note.map(|n| short(n, 500, "note")).transpose()?;
    let signer = check_signature(signature)?;
    tx.execute(
        "UPDATE carry_back SET state = 'returned', returned_at = ?2, receipt_collected = ?3,
                receipt_lost_note = ?4, returned_signer = ?5, returned_png_sha256 = ?6,
                returned_strokes = ?7
         WHERE id = ?1",
        params![
            id,
            ts(now),
            receipt_collected,
            if receipt_collected {
                None
            } else {
                note.clone()
            },
            signer,
            signature.png_sha256,
            serde_json::to_string(signature.strokes)?,
        ],
    )?;
    event(tx, id, CarryBackState::Returned, now)?;
    outbox::append(
        tx,
        outbox::kind::RETURN_CARRY_BACK,
        &work_order_id,
        None,
        &serde_json::json!({
            "carry_back_id": id,
            "receipt_collected": receipt_collected,
            "receipt_lost_note": if receipt_collected { None } else { note },
            "signer_name": signer,
            "png_sha256": signature.png_sha256,
            "at": ts(now),
        }),
        now,
    )?;
    get(tx, id, today)
}

const COLUMNS: &str = "cb.id, cb.receipt_no, cb.work_order_id, w.order_no, c.name, cb.item,
    cb.serial_no, cb.accessories, cb.condition, cb.fault, cb.expected_return, cb.state,
    cb.taken_at, cb.taken_signer, cb.returned_at, cb.receipt_collected, cb.receipt_lost_note,
    cb.returned_signer";
const FROM: &str = "FROM carry_back cb JOIN work_order w ON w.id = cb.work_order_id
    JOIN customer c ON c.id = w.customer_id";

fn conversion(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} in the carry-back log").into(),
    )
}

fn row(r: &Row, today: NaiveDate) -> rusqlite::Result<CarryBackView> {
    let state =
        CarryBackState::parse(&r.get::<_, String>(11)?).ok_or_else(|| conversion("state"))?;
    let expected_return: NaiveDate = r
        .get::<_, String>(10)?
        .parse()
        .map_err(|_| conversion("date"))?;
    let taken_at = parse_ts(&r.get::<_, String>(12)?).map_err(|_| conversion("time"))?;
    let returned_at = r
        .get::<_, Option<String>>(14)?
        .map(|t| parse_ts(&t).map_err(|_| conversion("time")))
        .transpose()?;
    Ok(CarryBackView {
        id: r.get(0)?,
        receipt_no: r.get(1)?,
        work_order_id: r.get(2)?,
        order_no: r.get(3)?,
        customer_name: r.get(4)?,
        item: r.get(5)?,
        serial_no: r.get(6)?,
        accessories: serde_json::from_str(&r.get::<_, String>(7)?)
            .map_err(|_| conversion("accessories"))?,
        condition: r.get(8)?,
        fault: r.get(9)?,
        expected_return,
        overdue: overdue(state, taken_at.date_naive(), expected_return, today),
        state,
        taken_at,
        taken_signer: r.get(13)?,
        returned_at,
        receipt_collected: r.get(15)?,
        receipt_lost_note: r.get(16)?,
        returned_signer: r.get(17)?,
        photos: Vec::new(),
    })
}

fn with_photos(
    conn: &Connection,
    mut items: Vec<CarryBackView>,
) -> StoreResult<Vec<CarryBackView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256 FROM carry_back_photo WHERE carry_back_id = ?1 ORDER BY sha256",
    )?;
    for item in &mut items {
        item.photos = stmt
            .query_map([&item.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(items)
}

/// One carry-back.
pub fn get(conn: &Connection, id: &str, today: NaiveDate) -> StoreResult<CarryBackView> {
    let item = conn
        .query_row(
            &format!("SELECT {COLUMNS} {FROM} WHERE cb.id = ?1"),
            [id],
            |r| row(r, today),
        )
        .optional()?
        .ok_or(StoreError::NotFound("carry-back"))?;
    Ok(with_photos(conn, vec![item])?.remove(0))
}

/// A job's carry-backs, oldest first.
pub fn for_work_order(
    conn: &Connection,
    work_order_id: &str,
    today: NaiveDate,
) -> StoreResult<Vec<CarryBackView>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} {FROM} WHERE cb.work_order_id = ?1 ORDER BY cb.taken_at"
    ))?;
    let items = stmt
        .query_map([work_order_id], |r| row(r, today))?
        .collect::<Result<_, _>>()?;
    with_photos(conn, items)
}

/// Items still out, oldest first.
pub fn open_items(conn: &Connection, today: NaiveDate) -> StoreResult<Vec<CarryBackView>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} {FROM} WHERE cb.state <> 'returned' ORDER BY cb.taken_at"
    ))?;
    let items = stmt
        .query_map([], |r| row(r, today))?
        .collect::<Result<Vec<_>, _>>()?;
    with_photos(conn, items)
}

/// Items still out that are past their return date or the repair limit, oldest first.
pub fn overdue_items(conn: &Connection, today: NaiveDate) -> StoreResult<Vec<CarryBackView>> {
    Ok(open_items(conn, today)?
        .into_iter()
        .filter(|i| i.overdue.is_some())
        .collect())
}

/// The goods in/out log of one item: (state, time), in order.
pub fn log(conn: &Connection, id: &str) -> StoreResult<Vec<(CarryBackState, DateTime<Utc>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, at FROM carry_back_event WHERE carry_back_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (state, at) = r?;
        out.push((
            CarryBackState::parse(&state).ok_or_else(|| {
                StoreError::Invalid("unknown carry-back state in the database".into())
            })?,
            parse_ts(&at)?,
        ));
    }
    Ok(out)
}
