//! The export of completed jobs as CSV: one line per fact ([`ExportRow`]).

use std::borrow::Cow;

use onsite_api::{
    ExportJob, ExportRow, FactRecord, OpPayload, TechnicianDayFact, TechnicianDayRow, WorkOrder,
};

/// One CSV row for one fact of a job.
pub fn row(order: &WorkOrder, fact: &FactRecord) -> ExportRow {
    let mut row = ExportRow {
        order_no: order.order_no.clone(),
        work_order_id: order.id,
        job_type: order.job_type,
        status: order.status,
        technician_id: fact.technician_id,
        fact_id: fact.fact_id,
        fact_kind: fact.kind.as_str().to_owned(),
        at: fact.received_at,
        code: String::new(),
        quantity: None,
        amount_minor: None,
        currency: None,
        price_version: None,
        blob_sha256: None,
        flagged_for_review: order.flagged_for_review,
    };
    let Ok(payload) = OpPayload::parse(fact.kind.as_str(), &fact.payload) else {
        return row;
    };
    row.at = payload.at();
    let text = |v: serde_json::Result<serde_json::Value>| {
        v.ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match payload {
        OpPayload::ChangeStatus(p) => row.code = p.to.as_str().to_owned(),
        OpPayload::RecordWork(p) => {
            row.code = p.service_code;
            (row.amount_minor, row.currency) = money(p.charge);
            row.price_version = Some(p.fee_table_version);
        }
        OpPayload::ConsumePart(p) => {
            row.code = p.part_no;
            row.quantity = Some(p.quantity);
            if let Some(price) = p.unit_price {
                (row.amount_minor, row.currency) = money(price);
            }
            row.price_version = p.price_list_version;
        }
        OpPayload::AttachSignature(p) => {
            row.code = serde_json::to_value(p.signer)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            row.blob_sha256 = Some(p.blob_sha256);
        }
        OpPayload::AttachDocument(p) => {
            row.code = p.doc_type;
            row.blob_sha256 = Some(p.blob_sha256);
        }
        OpPayload::TakePayment(p) => {
            row.code = serde_json::to_value(p.method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (row.amount_minor, row.currency) = money(p.amount);
        }
        // The notes' text is not a code; it stays out of the CSV like customer details.
        OpPayload::EditNotes(_) => row.code = "notes".to_owned(),
        // A note after completion: its text stays out of the CSV like the notes.
        OpPayload::AddAddendum(_) => row.code = "addendum".to_owned(),
        // The diagnosis' text likewise; the components found faulty are codes.
        OpPayload::RecordDiagnosis(p) => row.code = p.components.join(";"),
        OpPayload::IssueQuote(p) => {
            row.code = "quote".to_owned();
            (row.amount_minor, row.currency) = money(p.due);
            row.price_version = Some(p.fee_table_version);
        }
        OpPayload::RecordQuoteDecision(p) => {
            row.code = text(serde_json::to_value(p.decision));
            if p.callout.minor > 0 {
                (row.amount_minor, row.currency) = money(p.callout);
            }
        }
        OpPayload::ReturnPart(p) => {
            row.code = p.part_id;
            row.quantity = Some(p.quantity);
            if p.reversed.minor > 0 {
                (row.amount_minor, row.currency) = money(p.reversed);
            }
        }
        OpPayload::InvoiceLater(p) => {
            row.code = "invoice_later".to_owned();
            (row.amount_minor, row.currency) = money(p.amount);
        }
        OpPayload::RecordFeedback(p) => {
            row.code = "feedback".to_owned();
            row.quantity = Some(u32::from(p.rating));
        }
        // The carry-back: the receipt number (a code, not customer data), the step reached,
        // whether the receipt came back; the signature PNG as the blob. The item, its
        // condition and the signer's name stay out of the CSV like the notes.
        OpPayload::TakeCarryBack(p) => {
            row.code = p.receipt_no;
            row.blob_sha256 = Some(p.png_sha256);
        }
        OpPayload::AdvanceCarryBack(p) => row.code = p.to.as_str().to_owned(),
        OpPayload::ReturnCarryBack(p) => {
            row.code = if p.receipt_collected {
                "receipt_collected"
            } else {
                "receipt_lost"
            }
            .to_owned();
            row.blob_sha256 = Some(p.png_sha256);
        }
        // Technician-day facts are not stored on jobs; see `day_rows`.
        OpPayload::StockTake(_) | OpPayload::RecordExpense(_) => {}
    }
    row
}

fn money(m: onsite_domain::Money) -> (Option<i64>, Option<String>) {
    let currency = serde_json::to_value(m.currency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned));
    (Some(m.minor), currency)
}

/// The CSV rows of one technician-day fact: one per expense, per counted part of a
/// stock-take, per unused return. A payload that does not parse gives one bare row.
pub fn day_rows(fact: &TechnicianDayFact) -> Vec<TechnicianDayRow> {
    let base = |at, code: String| TechnicianDayRow {
        day: fact.day,
        technician_id: fact.technician_id,
        fact_id: fact.fact_id,
        fact_kind: fact.kind.as_str().to_owned(),
        at,
        code,
        quantity: None,
        difference: None,
        amount_minor: None,
        currency: None,
        superseded: fact.superseded,
    };
    match OpPayload::parse(fact.kind.as_str(), &fact.payload) {
        Ok(OpPayload::StockTake(p)) => p
            .lines
            .into_iter()
            .map(|l| TechnicianDayRow {
                quantity: Some(l.counted),
                difference: Some(l.difference),
                ..base(p.at, l.part_id)
            })
            .collect(),
        Ok(OpPayload::RecordExpense(p)) => {
            let (amount_minor, currency) = money(p.total);
            vec![TechnicianDayRow {
                quantity: Some(p.km),
                amount_minor,
                currency,
                ..base(p.at, "expense".to_owned())
            }]
        }
        Ok(OpPayload::ReturnPart(p)) => vec![TechnicianDayRow {
            quantity: Some(i64::from(p.quantity)),
            ..base(p.at, p.part_id)
        }],
        _ => vec![base(fact.received_at, String::new())],
    }
}

/// The technician-day CSV: a header line, then [`day_rows`] of each fact, `\r\n` ends.
pub fn day_csv(facts: &[TechnicianDayFact]) -> String {
    csv_text(
        TechnicianDayRow::COLUMNS,
        facts.iter().flat_map(day_rows).map(|r| {
            [
                r.day.to_string(),
                r.technician_id.to_string(),
                r.fact_id.to_string(),
                r.fact_kind,
                r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.code,
                opt(r.quantity),
                opt(r.difference),
                opt(r.amount_minor),
                opt(r.currency),
                r.superseded.to_string(),
            ]
        }),
    )
}

/// A field that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, a tab or a
/// carriage return first, and not a number) gets a leading `'`, so that opening the
/// export runs nothing.
pub fn defuse(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err() {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// CSV text by the `csv` crate (RFC 4180: a field is quoted when it holds a comma, a quote
/// or a line break, quotes doubled; `\r\n` line ends): the header, then each row with every
/// field [`defuse`]d.
fn csv_text<const N: usize>(
    header: &[&str],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to memory fails only if the process is out of memory.
    out.write_record(header).expect("CSV to memory");
    for row in rows {
        out.write_record(row.iter().map(|f| defuse(f).into_owned()))
            .expect("CSV to memory");
    }
    let bytes = out.into_inner().expect("CSV to memory");
    // Every field is a &str: the text is UTF-8.
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV text: a header line, then one line per fact of each job, `\r\n` line ends.
pub fn to_csv(jobs: &[ExportJob]) -> String {
    csv_text(
        ExportRow::COLUMNS,
        jobs.iter()
            .flat_map(|job| job.facts.iter().map(|fact| row(&job.work_order, fact)))
            .map(|r| {
                [
                    r.order_no,
                    r.work_order_id.to_string(),
                    r.job_type.as_str().to_owned(),
                    r.status.as_str().to_owned(),
                    r.technician_id.to_string(),
                    r.fact_id.to_string(),
                    r.fact_kind,
                    r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    r.code,
                    opt(r.quantity),
                    opt(r.amount_minor),
                    opt(r.currency),
                    opt(r.price_version),
                    opt(r.blob_sha256),
                    r.flagged_for_review.to_string(),
                ]
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record of the given fields, as [`csv_text`] writes it (without the header).
    fn line(fields: [&str; 3]) -> String {
        let text = csv_text(&["a", "b", "c"], [fields.map(str::to_owned)]);
        text.strip_prefix("a,b,c\r\n").unwrap().to_owned()
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(line(["plain", "", "x"]), "plain,,x\r\n");
        assert_eq!(line(["a,b", "", ""]), "\"a,b\",,\r\n");
        assert_eq!(line(["say \"hi\"", "", ""]), "\"say \"\"hi\"\"\",,\r\n");
        assert_eq!(line(["line\nbreak", "", ""]), "\"line\nbreak\",,\r\n");
        assert_eq!(line(["cr\rhere", "", ""]), "\"cr\rhere\",,\r\n");
        assert_eq!(line(["=HYPERLINK(1)", "", ""]), "'=HYPERLINK(1),,\r\n");
        assert_eq!(line(["=a,b", "", ""]), "\"'=a,b\",,\r\n");
        assert_eq!(line(["-5", "+1.5", "@x"]), "-5,+1.5,'@x\r\n");
        assert_eq!(line(["王伟", "", ""]), "王伟,,\r\n");
    }

    /// The quoting head office wrote by hand before the csv crate, kept to show the crate
    /// writes the same bytes.
    fn hand_written(value: &str) -> String {
        let guarded = defuse(value);
        if guarded.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", guarded.replace('"', "\"\""))
        } else {
            guarded.into_owned()
        }
    }

    #[test]
    fn the_csv_crate_writes_what_the_hand_written_export_wrote() {
        let alphabet = [
            "", ",", "\"", "\n", "\r", "=", "-", "+", "@", "\t", " ", "a", "1", ".", "'", "王",
        ];
        let mut n = 0;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let field = format!("{a}{b}{c}");
                    let fields = [field.as_str(), "x", field.as_str()];
                    let expected =
                        format!("{},x,{}\r\n", hand_written(&field), hand_written(&field));
                    assert_eq!(line(fields), expected, "{field:?}");
                    n += 1;
                }
            }
        }
        assert_eq!(n, 16 * 16 * 16);
    }

    #[test]
    fn header_has_every_column() {
        let csv = to_csv(&[]);
        assert_eq!(csv.trim_end().split(',').count(), ExportRow::COLUMNS.len());
        let csv = day_csv(&[]);
        assert_eq!(
            csv.trim_end().split(',').count(),
            TechnicianDayRow::COLUMNS.len()
        );
    }

    #[test]
    fn a_stock_take_gives_a_row_per_part_and_an_expense_one_row() {
        use onsite_api::{OpKind, StockTake, StockTakeLine};
        let at: chrono::DateTime<chrono::Utc> = "2026-11-24T02:00:00Z".parse().unwrap();
        let take = OpPayload::StockTake(StockTake {
            day: None,
            fact_id: uuid::Uuid::nil(),
            stock_take_id: uuid::Uuid::nil(),
            lines: vec![
                StockTakeLine {
                    part_id: "=p1".into(),
                    expected: 3,
                    counted: 2,
                    difference: -1,
                },
                StockTakeLine {
                    part_id: "p2".into(),
                    expected: 0,
                    counted: 0,
                    difference: 0,
                },
            ],
            at,
        });
        let fact = TechnicianDayFact {
            day: at.date_naive(),
            fact_id: uuid::Uuid::nil(),
            op_id: uuid::Uuid::nil(),
            technician_id: uuid::Uuid::nil(),
            device_id: uuid::Uuid::nil(),
            kind: OpKind::StockTake,
            payload: take.to_value(),
            superseded: false,
            received_at: at,
        };
        let csv = day_csv(std::slice::from_ref(&fact));
        let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{csv}");
        // Defused like the job export.
        assert!(lines[1].contains(",'=p1,2,-1,"), "{csv}");
        assert!(lines[2].contains(",p2,0,0,"), "{csv}");
    }
}
