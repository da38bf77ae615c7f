//! Pieces shared by the documents: header, footer, line-item table, totals, signature.

use chrono::{DateTime, FixedOffset};
use printpdf::RawImage;

use crate::image::decode_png;
use crate::labels::{self as t, colon, money, L};
use crate::layout::{col, Align, Layout, BLACK, DARK, MUTED, RULE};
use crate::model::{Company, Cover, Lang, LineItem, Paper, Payment, Signature};
use crate::pdf::{self, Meta};
use crate::DocsError;

/// Font sizes and label column of one paper.
#[derive(Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) title: f32,
    pub(crate) company: f32,
    pub(crate) body: f32,
    pub(crate) small: f32,
    pub(crate) footer: f32,
    pub(crate) heading: f32,
    pub(crate) label_w: f32,
}

const A4_SIZES: Sizes = Sizes {
    title: 15.0,
    company: 13.0,
    body: 9.5,
    small: 8.0,
    footer: 7.0,
    heading: 10.5,
    label_w: 28.0,
};

const ROLL_SIZES: Sizes = Sizes {
    title: 11.0,
    company: 10.0,
    body: 8.0,
    small: 7.0,
    footer: 6.5,
    heading: 8.5,
    label_w: 22.0,
};

/// A document being built: its language, layout and images.
pub(crate) struct Doc {
    pub(crate) lang: Lang,
    pub(crate) l: Layout,
    pub(crate) s: Sizes,
    images: Vec<RawImage>,
}

impl Doc {
    pub(crate) fn new(lang: Lang, paper: Paper) -> Result<Self, DocsError> {
        let m = crate::font::metrics()?;
        Ok(match paper {
            Paper::A4 => Doc {
                lang,
                l: Layout::a4(m),
                s: A4_SIZES,
                images: Vec::new(),
            },
            Paper::Roll80 => Doc {
                lang,
                l: Layout::roll80(m),
                s: ROLL_SIZES,
                images: Vec::new(),
            },
        })
    }

    pub(crate) fn t(&self, l: L) -> &'static str {
        l.get(self.lang)
    }

    /// "Label：value" / "Label: value".
    pub(crate) fn kv(&self, l: L, v: impl Into<String>) -> (String, String) {
        (self.t(l).to_string(), v.into())
    }

    fn add_image(&mut self, what: &'static str, png: &[u8]) -> Result<(usize, f32), DocsError> {
        let d = decode_png(what, png)?;
        let aspect = d.aspect();
        self.images.push(d.raw);
        Ok((self.images.len() - 1, aspect))
    }

    /// Company block and document title.
    pub(crate) fn header(
        &mut self,
        company: &Company,
        title: L,
        number_label: L,
        number: &str,
    ) -> Result<(), DocsError> {
        let logo = match &company.logo_png {
            Some(png) => Some(self.add_image("logo", png)?),
            None => None,
        };
        let title = self.t(title);
        let number_line = format!("{}{}{}", self.t(number_label), colon(self.lang), number);
        let phone_line = format!("{}{}{}", self.t(t::PHONE), colon(self.lang), company.phone);
        let s = self.s;
        let l = &mut self.l;
        if l.is_roll() {
            let mid = l.w / 2.0;
            if let Some((img, aspect)) = logo {
                let h = 10.0_f32;
                let w = (h / aspect).min(30.0);
                let h = w * aspect;
                let y = l.y;
                l.image(img, mid - w / 2.0, y, w, h);
                l.gap(h + 2.0);
            }
            centered(l, s.company, BLACK, &company.name);
            centered(l, s.small, DARK, &phone_line);
            if let Some(a) = &company.address {
                centered(l, s.small, MUTED, a);
            }
            l.gap(1.5);
            l.rule(0.6, DARK);
            l.gap(2.0);
            centered(l, s.title, BLACK, title);
            centered(l, s.body, DARK, &number_line);
            l.gap(1.0);
            l.rule(0.3, RULE);
            l.gap(2.0);
            return Ok(());
        }

        let top = l.y;
        let x0 = l.x0();
        let x1 = l.x1();
        let mut text_x = x0;
        let mut bottom = top;
        if let Some((img, aspect)) = logo {
            let h = 16.0_f32;
            let w = (h / aspect).min(36.0);
            let h = w * aspect;
            l.image(img, x0, top, w, h);
            text_x = x0 + w + 4.0;
            bottom = bottom.max(top + h);
        }
        // Right: title and number; left: company, as wide as the title leaves room for.
        let right_w = l.width(title, s.title).max(l.width(&number_line, s.body));
        let right_w = right_w.min(l.content_width() * 0.5);
        l.y = top;
        for line in l.wrap(title, s.title, right_w) {
            let y = l.y;
            l.text_right(x1, y, s.title, BLACK, &line);
            l.y += Layout::line_h(s.title);
        }
        for line in l.wrap(&number_line, s.body, right_w) {
            let y = l.y;
            l.text_right(x1, y, s.body, DARK, &line);
            l.y += Layout::line_h(s.body);
        }
        bottom = bottom.max(l.y);

        let left_w = x1 - right_w - 6.0 - text_x;
        l.y = top;
        for line in l.wrap(&company.name, s.company, left_w) {
            let y = l.y;
            l.text_at(text_x, y, s.company, BLACK, &line);
            l.y += Layout::line_h(s.company);
        }
        l.y += 0.5;
        for line in l.wrap(&phone_line, s.small, left_w) {
            let y = l.y;
            l.text_at(text_x, y, s.small, DARK, &line);
            l.y += Layout::line_h(s.small);
        }
        if let Some(a) = &company.address {
            for line in l.wrap(a, s.small, left_w) {
                let y = l.y;
                l.text_at(text_x, y, s.small, MUTED, &line);
                l.y += Layout::line_h(s.small);
            }
        }
        l.y = bottom.max(l.y) + 2.5;
        l.rule(0.8, DARK);
        l.gap(4.0);
        l.set_running_head(format!("{} · {}", company.name, title), number_line);
        Ok(())
    }

    pub(crate) fn heading(&mut self, text: L) {
        let s = self.s;
        let text = self.t(text);
        if self.l.is_roll() {
            self.l.gap(1.0);
        } else {
            self.l.gap(2.0);
        }
        self.l
            .heading(text, s.heading, Layout::line_h(s.body) * 2.0);
    }

    pub(crate) fn key_values(&mut self, rows: &[(String, String)]) {
        let s = self.s;
        self.l.key_values(s.label_w, s.body, rows);
    }

    pub(crate) fn paragraph(&mut self, size: f32, gray: f32, text: &str) {
        let (x, w) = (self.l.x0(), self.l.content_width());
        self.l.paragraph(x, w, size, gray, text);
    }

    /// Line items with covered/charged and the reason (A4 documents).
    pub(crate) fn items_table(&mut self, items: &[LineItem]) -> Result<(), DocsError> {
        let lang = self.lang;
        let s = self.s;
        if items.is_empty() {
            self.paragraph(s.body, MUTED, self.t(t::NO_ITEMS));
            return Ok(());
        }
        let mut rows = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let charged = line_charged(it)?;
            let item = if it.code.is_empty() {
                it.description.clone()
            } else {
                format!("{}\n{}", it.description, it.code)
            };
            let cover = match it.cover {
                Cover::Charged => t::CHARGED,
                Cover::Warranty => t::COVER_WARRANTY,
                Cover::Contract => t::COVER_CONTRACT,
            }
            .get(lang);
            let cover = if it.reason.is_empty() {
                cover.to_string()
            } else {
                format!("{cover}{}{}", colon(lang), it.reason)
            };
            rows.push(vec![
                (i + 1).to_string(),
                item,
                it.quantity.to_string(),
                money(it.unit_price_fen),
                cover,
                money(charged),
            ]);
        }
        // A4 only: 178 mm of content width.
        let cols = vec![
            col(self.t(t::COL_NO), 8.0, Align::Right),
            col(self.t(t::COL_ITEM), 58.0, Align::Left),
            col(self.t(t::COL_QTY), 12.0, Align::Right),
            col(self.t(t::COL_UNIT), 22.0, Align::Right),
            col(self.t(t::COL_COVERAGE), 54.0, Align::Left),
            col(self.t(t::COL_AMOUNT), 24.0, Align::Right),
        ];
        self.l.table(&cols, &rows, s.small + 0.5);
        Ok(())
    }

    /// Right-aligned label / amount rows; `strong` rows print larger.
    pub(crate) fn totals(&mut self, rows: &[(String, String, bool)]) {
        let s = self.s;
        let amount_w = if self.l.is_roll() { 24.0 } else { 34.0 };
        let label_w = if self.l.is_roll() { 44.0 } else { 80.0 };
        let x1 = self.l.x1();
        let total_h: f32 = rows
            .iter()
            .map(|(_, _, strong)| Layout::line_h(if *strong { s.heading } else { s.body }))
            .sum();
        self.l.ensure(total_h + 2.0);
        self.l.gap(1.5);
        for (label, amount, strong) in rows {
            let size = if *strong { s.heading } else { s.body };
            let gray = if *strong { BLACK } else { DARK };
            let top = self.l.y;
            if self.l.width(amount, size) > amount_w {
                // A wide value (a status sentence): one right-aligned "label: value".
                let line = format!("{label}{}{amount}", colon(self.lang));
                let lines = self.l.wrap(&line, size, label_w + amount_w);
                for (i, line) in lines.iter().enumerate() {
                    let y = top + i as f32 * Layout::line_h(size);
                    self.l.text_right(x1, y, size, gray, line);
                }
                self.l.y = top + lines.len().max(1) as f32 * Layout::line_h(size);
                continue;
            }
            let lines = self.l.wrap(label, size, label_w);
            for (i, line) in lines.iter().enumerate() {
                let y = top + i as f32 * Layout::line_h(size);
                self.l.text_right(x1 - amount_w - 3.0, y, size, MUTED, line);
            }
            self.l.text_right(x1, top, size, gray, amount);
            self.l.y = top + lines.len().max(1) as f32 * Layout::line_h(size);
        }
    }

    /// A signature image in a frame, with name and time beside (A4) or below (roll).
    pub(crate) fn signature(
        &mut self,
        sig: &Signature,
        extra: &[(String, String)],
    ) -> Result<(), DocsError> {
        let (img, aspect) = self.add_image("signature", &sig.png)?;
        let s = self.s;
        let mut rows = vec![
            self.kv(t::SIGNED_BY, sig.signer.clone()),
            self.kv(t::SIGNED_AT, t::date_time(self.lang, sig.signed_at)),
        ];
        rows.extend_from_slice(extra);
        let roll = self.l.is_roll();
        let (box_w, box_h) = if roll {
            (self.l.content_width(), 24.0)
        } else {
            (72.0, 28.0)
        };
        let rows_h = rows.len() as f32 * Layout::line_h(s.body) * 1.5;
        self.l.ensure(
            if roll {
                box_h + rows_h
            } else {
                box_h.max(rows_h)
            } + 2.0,
        );
        let (x0, top) = (self.l.x0(), self.l.y);
        frame(&mut self.l, x0, top, box_w, box_h);
        // Fit the image inside the frame, keeping its aspect ratio.
        let pad = 2.0;
        let (aw, ah) = (box_w - 2.0 * pad, box_h - 2.0 * pad);
        let (w, h) = if aspect * aw <= ah {
            (aw, aw * aspect)
        } else {
            (ah / aspect, ah)
        };
        self.l.image(
            img,
            x0 + pad + (aw - w) / 2.0,
            top + pad + (ah - h) / 2.0,
            w,
            h,
        );
        if roll {
            self.l.y = top + box_h + 1.5;
            self.key_values(&rows);
        } else {
            let saved_left = self.l.left;
            self.l.left = x0 + box_w + 6.0;
            self.l.y = top + 2.0;
            let label_w = s.label_w.min(28.0);
            self.l.key_values(label_w, s.body, &rows);
            self.l.left = saved_left;
            self.l.y = self.l.y.max(top + box_h) + 2.0;
        }
        Ok(())
    }

    /// An empty frame with a note in it (not signed; awaiting acceptance).
    pub(crate) fn empty_signature(&mut self, note: &str, extra: &[(String, String)]) {
        let s = self.s;
        let roll = self.l.is_roll();
        let (box_w, box_h) = if roll {
            (self.l.content_width(), 18.0)
        } else {
            (72.0, 28.0)
        };
        self.l.ensure(box_h + 2.0);
        let (x0, top) = (self.l.x0(), self.l.y);
        frame(&mut self.l, x0, top, box_w, box_h);
        let lines = self.l.wrap(note, s.body, box_w - 6.0);
        for (i, line) in lines.iter().enumerate() {
            let y = top + 3.0 + i as f32 * Layout::line_h(s.body);
            self.l.text_at(x0 + 3.0, y, s.body, MUTED, line);
        }
        if roll {
            self.l.y = top + box_h + 1.5;
            self.key_values(extra);
        } else {
            let saved_left = self.l.left;
            self.l.left = x0 + box_w + 6.0;
            self.l.y = top + 2.0;
            self.l.key_values(s.label_w.min(28.0), s.body, extra);
            self.l.left = saved_left;
            self.l.y = self.l.y.max(top + box_h) + 2.0;
        }
    }

    /// A boxed notice (e.g. "present this receipt").
    pub(crate) fn notice(&mut self, text: &str) {
        let s = self.s;
        let size = s.body + 0.5;
        let w = self.l.content_width();
        let lines = self.l.wrap(text, size, w - 6.0);
        let h = lines.len() as f32 * Layout::line_h(size) + 4.0;
        self.l.ensure(h + 2.0);
        let (x0, top) = (self.l.x0(), self.l.y);
        self.l.fill(x0, top, w, h, 0.94);
        frame(&mut self.l, x0, top, w, h);
        for (i, line) in lines.iter().enumerate() {
            let y = top + 2.0 + i as f32 * Layout::line_h(size);
            self.l.text_at(x0 + 3.0, y, size, BLACK, line);
        }
        self.l.y = top + h + 2.0;
    }

    /// A4: footer on every page (extra lines, issue time and "page x of y"); roll: the
    /// extra lines and issue time at the end. Then the PDF.
    pub(crate) fn finish(
        mut self,
        meta: Meta,
        issued_at: DateTime<FixedOffset>,
        footer_lines: &[String],
    ) -> Result<Vec<u8>, DocsError> {
        let lang = self.lang;
        let s = self.s;
        // Characters the font cannot draw were left out of the text: say what the mark means.
        let mut footer_lines = footer_lines.to_vec();
        if self.l.omitted() {
            footer_lines.push(t::OMITTED_NOTE.get(lang).to_string());
        }
        let footer_lines = footer_lines.as_slice();
        let issued = format!(
            "{}{}{}",
            t::ISSUED_AT.get(lang),
            colon(lang),
            t::date_time(lang, issued_at)
        );
        if self.l.is_roll() {
            self.l.gap(2.0);
            self.l.rule(0.3, RULE);
            self.l.gap(1.5);
            for line in footer_lines {
                self.paragraph(s.footer, MUTED, line);
            }
            self.paragraph(s.footer, MUTED, &issued);
        } else {
            let lh = Layout::line_h(s.footer);
            let page_h = self.l.page_height();
            let n_lines = footer_lines.len() as f32 + 1.0;
            let top = page_h - 8.0 - n_lines * lh;
            self.l.on_each_page(|l, page, pages| {
                let (x0, x1) = (l.x0(), l.x1());
                l.line(x0, top - 1.5, x1, top - 1.5, 0.3, RULE);
                let mut y = top;
                for line in footer_lines {
                    l.text_at(x0, y, s.footer, MUTED, line);
                    y += lh;
                }
                l.text_at(x0, y, s.footer, MUTED, &issued);
                l.text_right(x1, y, s.footer, DARK, &t::page_of(lang, page, pages));
            });
        }
        let pages = self.l.finish();
        pdf::write(&meta, &pages, self.images)
    }
}

fn centered(l: &mut Layout, size: f32, gray: f32, text: &str) {
    let mid = l.w / 2.0;
    for line in l.wrap(text, size, l.content_width()) {
        let y = l.y;
        l.text_center(mid, y, size, gray, &line);
        l.y += Layout::line_h(size);
    }
}

fn frame(l: &mut Layout, x: f32, y: f32, w: f32, h: f32) {
    l.line(x, y, x + w, y, 0.5, RULE);
    l.line(x + w, y, x + w, y + h, 0.5, RULE);
    l.line(x + w, y + h, x, y + h, 0.5, RULE);
    l.line(x, y + h, x, y, 0.5, RULE);
}

/// Quantity × unit price.
pub(crate) fn line_value(it: &LineItem) -> Result<i64, DocsError> {
    it.unit_price_fen
        .checked_mul(i64::from(it.quantity))
        .ok_or(DocsError::AmountOverflow("line item"))
}

/// What the customer pays for a line: nothing when covered.
pub(crate) fn line_charged(it: &LineItem) -> Result<i64, DocsError> {
    if it.cover.is_covered() {
        Ok(0)
    } else {
        line_value(it)
    }
}

pub(crate) struct Totals {
    pub(crate) value: i64,
    pub(crate) covered: i64,
    pub(crate) charged: i64,
}

pub(crate) fn totals_of(items: &[LineItem]) -> Result<Totals, DocsError> {
    let mut t = Totals {
        value: 0,
        covered: 0,
        charged: 0,
    };
    let of = || DocsError::AmountOverflow("totals");
    for it in items {
        let v = line_value(it)?;
        t.value = t.value.checked_add(v).ok_or_else(of)?;
        if it.cover.is_covered() {
            t.covered = t.covered.checked_add(v).ok_or_else(of)?;
        } else {
            t.charged = t.charged.checked_add(v).ok_or_else(of)?;
        }
    }
    Ok(t)
}

pub(crate) fn payment_status(charged: i64, p: &Payment) -> L {
    if charged <= 0 {
        t::STATUS_NO_CHARGE
    } else if p.paid_fen >= charged {
        t::STATUS_PAID
    } else if p.invoice_to_follow {
        t::STATUS_INVOICE
    } else if p.paid_fen > 0 {
        t::STATUS_PART_PAID
    } else {
        t::STATUS_UNPAID
    }
}

pub(crate) fn meta(
    lang: Lang,
    title: L,
    number: &str,
    company: &Company,
    created: DateTime<FixedOffset>,
) -> Meta {
    Meta {
        title: format!("{} {}", title.get(lang), number),
        subject: title.en.to_string(),
        author: company.name.clone(),
        lang,
        created,
    }
}

pub(crate) fn non_empty(s: &str, what: &'static str) -> Result<(), DocsError> {
    if s.trim().is_empty() {
        Err(DocsError::Invalid(what))
    } else {
        Ok(())
    }
}
