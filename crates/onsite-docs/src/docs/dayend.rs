//! 5. Day-end summary (A4).

use std::collections::BTreeMap;

use super::common::{meta, Doc};
use crate::labels::{self as t, money, L};
use crate::layout::{col, Align, MUTED};
use crate::model::{DayEndInput, Paper, PartMovement};
use crate::DocsError;

fn sum<'a>(
    mut amounts: impl Iterator<Item = &'a i64>,
    what: &'static str,
) -> Result<i64, DocsError> {
    amounts
        .try_fold(0i64, |a, b| a.checked_add(*b))
        .ok_or(DocsError::AmountOverflow(what))
}

pub(crate) fn render(input: &DayEndInput) -> Result<Vec<u8>, DocsError> {
    let lang = input.lang;
    let mut d = Doc::new(lang, Paper::A4)?;
    let date = t::date(lang, input.date);
    d.header(&input.company, t::DAY_END_TITLE, t::DATE_OF, &date)?;

    let money_total = sum(input.payments.iter().map(|p| &p.amount_fen), "money taken")?;
    let expenses_total = sum(input.expenses.iter().map(|e| &e.amount_fen), "expenses")?;
    let summary = [
        d.kv(t::TECHNICIAN, input.technician.clone()),
        d.kv(t::JOBS_DONE, input.jobs.len().to_string()),
        d.kv(t::MONEY_TOTAL, money(money_total)),
        d.kv(t::EXPENSES_TOTAL, money(expenses_total)),
    ];
    d.key_values(&summary);
    let size = d.s.small + 0.5;

    d.heading(t::SECTION_JOBS);
    if input.jobs.is_empty() {
        none(&mut d);
    } else {
        let cols = [
            col(d.t(t::COL_WO), 32.0, Align::Left),
            col(d.t(t::CUSTOMER), 34.0, Align::Left),
            col(d.t(t::COL_SUMMARY), 66.0, Align::Left),
            col(d.t(t::COL_OUTCOME), 22.0, Align::Left),
            col(d.t(t::CHARGED), 24.0, Align::Right),
        ];
        let rows: Vec<Vec<String>> = input
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.work_order_no.clone(),
                    j.customer_name.clone(),
                    j.summary.clone(),
                    t::outcome(lang, j.outcome).to_string(),
                    money(j.charged_fen),
                ]
            })
            .collect();
        d.l.table(&cols, &rows, size);
    }

    parts(&mut d, t::SECTION_PARTS_USED, &input.parts_used, size);
    parts(
        &mut d,
        t::SECTION_PARTS_RETURNED,
        &input.parts_returned,
        size,
    );

    d.heading(t::SECTION_MONEY);
    if input.payments.is_empty() {
        none(&mut d);
    } else {
        // Grouped by method, in the order methods first appear.
        let mut order: Vec<String> = Vec::new();
        let mut by: BTreeMap<String, (usize, i64)> = BTreeMap::new();
        for p in &input.payments {
            let m = t::pay_method(lang, &p.method);
            let e = by.entry(m.clone()).or_insert_with(|| {
                order.push(m.clone());
                (0, 0)
            });
            e.0 += 1;
            e.1 =
                e.1.checked_add(p.amount_fen)
                    .ok_or(DocsError::AmountOverflow("money by method"))?;
        }
        let cols = [
            col(d.t(t::COL_METHOD), 90.0, Align::Left),
            col(d.t(t::COL_COUNT), 30.0, Align::Right),
            col(d.t(t::COL_AMOUNT), 58.0, Align::Right),
        ];
        let mut rows: Vec<Vec<String>> = order
            .iter()
            .map(|m| {
                let (n, a) = by[m];
                vec![m.clone(), n.to_string(), money(a)]
            })
            .collect();
        rows.push(vec![
            d.t(t::TOTAL).into(),
            input.payments.len().to_string(),
            money(money_total),
        ]);
        d.l.table(&cols, &rows, size);
    }

    d.heading(t::SECTION_CARRY_BACKS);
    if input.carry_backs_open.is_empty() {
        none(&mut d);
    } else {
        let cols = [
            col(d.t(t::RECEIPT_NO), 32.0, Align::Left),
            col(d.t(t::CUSTOMER), 34.0, Align::Left),
            col(d.t(t::APPLIANCE), 52.0, Align::Left),
            col(d.t(t::COL_TAKEN), 28.0, Align::Left),
            col(d.t(t::EXPECTED_RETURN), 32.0, Align::Left),
        ];
        let rows: Vec<Vec<String>> = input
            .carry_backs_open
            .iter()
            .map(|c| {
                let mut due = t::date(lang, c.expected_return);
                if c.expected_return < input.date {
                    due = format!("{due}\n{}", d.t(t::OVERDUE));
                }
                vec![
                    c.receipt_no.clone(),
                    c.customer_name.clone(),
                    c.appliance.clone(),
                    t::date(lang, c.taken_on),
                    due,
                ]
            })
            .collect();
        d.l.table(&cols, &rows, size);
    }

    d.heading(t::SECTION_EXPENSES);
    if input.expenses.is_empty() {
        none(&mut d);
    } else {
        let cols = [
            col(d.t(t::COL_TYPE), 30.0, Align::Left),
            col(d.t(t::COL_DESCRIPTION), 108.0, Align::Left),
            col(d.t(t::COL_AMOUNT), 40.0, Align::Right),
        ];
        let mut rows: Vec<Vec<String>> = input
            .expenses
            .iter()
            .map(|e| {
                vec![
                    t::expense(lang, &e.kind).to_string(),
                    e.description.clone(),
                    money(e.amount_fen),
                ]
            })
            .collect();
        rows.push(vec![
            d.t(t::TOTAL).into(),
            String::new(),
            money(expenses_total),
        ]);
        d.l.table(&cols, &rows, size);
    }

    let m = meta(
        lang,
        t::DAY_END_TITLE,
        &input.date.to_string(),
        &input.company,
        input.issued_at,
    );
    d.finish(m, input.issued_at, &[])
}

fn none(d: &mut Doc) {
    let body = d.s.body;
    d.paragraph(body, MUTED, d.t(t::NONE));
}

fn parts(d: &mut Doc, title: L, parts: &[PartMovement], size: f32) {
    d.heading(title);
    if parts.is_empty() {
        none(d);
        return;
    }
    let cols = [
        col(d.t(t::COL_PART), 28.0, Align::Left),
        col(d.t(t::COL_DESCRIPTION), 68.0, Align::Left),
        col(d.t(t::COL_QTY), 14.0, Align::Right),
        col(d.t(t::SERIAL), 36.0, Align::Left),
        col(d.t(t::COL_WO), 32.0, Align::Left),
    ];
    let rows: Vec<Vec<String>> = parts
        .iter()
        .map(|p| {
            vec![
                p.part_no.clone(),
                p.description.clone(),
                p.quantity.to_string(),
                p.serial.clone().unwrap_or_default(),
                p.work_order_no.clone().unwrap_or_default(),
            ]
        })
        .collect();
    d.l.table(&cols, &rows, size);
}
