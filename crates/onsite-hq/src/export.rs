//! The export of completed jobs as CSV: one line per fact ([`ExportRow`]).

use onsite_api::{ExportJob, ExportRow, FactRecord, OpPayload, WorkOrder};

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
    let money = |m: onsite_domain::Money| {
        let currency = serde_json::to_value(m.currency)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        (Some(m.minor), currency)
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
            (row.amount_minor, row.currency) = money(p.unit_price);
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
    }
    row
}

/// Quotes a CSV field when it needs it (RFC 4180). A field that a spreadsheet would read
/// as a formula (`=`, `+`, `-`, `@` first) gets a leading `'` so that opening the export
/// runs nothing.
pub fn field(value: &str) -> String {
    let guarded =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err() {
            format!("'{value}")
        } else {
            value.to_owned()
        };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV text: a header line, then one line per fact of each job, `\r\n` line ends.
pub fn to_csv(jobs: &[ExportJob]) -> String {
    let mut out = ExportRow::COLUMNS.join(",");
    out.push_str("\r\n");
    for job in jobs {
        for fact in &job.facts {
            let r = row(&job.work_order, fact);
            let fields = [
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
            ];
            let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-5"), "-5");
    }

    #[test]
    fn header_has_every_column() {
        let csv = to_csv(&[]);
        assert_eq!(csv.trim_end().split(',').count(), ExportRow::COLUMNS.len());
    }
}
