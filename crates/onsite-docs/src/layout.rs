//! A small page-layout engine: measured text, wrapping, key-value blocks and tables that
//! paginate. Coordinates are millimetres from the top-left corner of the page; the PDF
//! writer flips them.

use std::borrow::Cow;
use std::cell::Cell;

use crate::font::Metrics;

/// Millimetres per point.
pub(crate) const MM_PER_PT: f32 = 25.4 / 72.0;
/// Baseline below the top of a line box, in em (Noto CJK's typographic ascender).
const ASCENT_EM: f32 = 0.88;
/// Line height in em.
const LINE_EM: f32 = 1.42;

pub(crate) const BLACK: f32 = 0.0;
pub(crate) const DARK: f32 = 0.2;
pub(crate) const MUTED: f32 = 0.4;
pub(crate) const RULE: f32 = 0.6;
pub(crate) const SHADE: f32 = 0.92;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cmd {
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        gray: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width_pt: f32,
        gray: f32,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: f32,
    },
    /// `image` indexes the document's image list.
    Image {
        image: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub(crate) w: f32,
    pub(crate) h: f32,
    pub(crate) cmds: Vec<Cmd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// One table column: title, width in mm, alignment.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    pub(crate) title: String,
    pub(crate) width: f32,
    pub(crate) align: Align,
}

pub(crate) fn col(title: &str, width: f32, align: Align) -> Col {
    Col {
        title: title.to_string(),
        width,
        align,
    }
}

/// Most lines a single table cell prints before it is cut with an ellipsis, so one
/// absurd cell cannot outgrow a page.
const MAX_CELL_LINES: usize = 12;

pub(crate) struct Layout {
    m: &'static Metrics,
    pub(crate) w: f32,
    /// Page height; for a roll it grows with the content and is fixed by `finish`.
    h: f32,
    pub(crate) left: f32,
    pub(crate) right: f32,
    top: f32,
    bottom: f32,
    roll: bool,
    pages: Vec<Page>,
    /// Current vertical position (top of the next line box).
    pub(crate) y: f32,
    /// Drawn at the top of every page after the first.
    running_head: Option<(String, String)>,
    running_head_size: f32,
    /// Page that drawing goes to when not the last one (footers, after layout).
    target: Option<usize>,
    /// Some text had characters the font cannot draw (left out, marked).
    omitted: Cell<bool>,
}

impl Layout {
    /// An A4 layout: 210 × 297 mm, `bottom` leaves room for the footer.
    pub(crate) fn a4(m: &'static Metrics) -> Self {
        Self::new(m, 210.0, 297.0, 16.0, 16.0, 14.0, 22.0, false)
    }

    /// An 80 mm roll: 72 mm printable, height fitted to the content at the end.
    pub(crate) fn roll80(m: &'static Metrics) -> Self {
        Self::new(m, 80.0, 0.0, 4.0, 4.0, 5.0, 8.0, true)
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        m: &'static Metrics,
        w: f32,
        h: f32,
        left: f32,
        right: f32,
        top: f32,
        bottom: f32,
        roll: bool,
    ) -> Self {
        Self {
            m,
            w,
            h,
            left,
            right,
            top,
            bottom,
            roll,
            pages: vec![Page {
                w,
                h,
                cmds: Vec::new(),
            }],
            y: top,
            running_head: None,
            running_head_size: 8.0,
            target: None,
            omitted: Cell::new(false),
        }
    }

    /// `text` as the font prints it (see [`Metrics::printable_text`]); remembers that
    /// something was left out, for the document's footnote.
    fn clean<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let (t, omitted) = self.m.printable_text(text);
        if omitted {
            self.omitted.set(true);
        }
        t
    }

    /// Whether any text so far had characters left out.
    pub(crate) fn omitted(&self) -> bool {
        self.omitted.get()
    }

    pub(crate) fn is_roll(&self) -> bool {
        self.roll
    }

    pub(crate) fn x0(&self) -> f32 {
        self.left
    }

    pub(crate) fn x1(&self) -> f32 {
        self.w - self.right
    }

    pub(crate) fn content_width(&self) -> f32 {
        self.w - self.left - self.right
    }

    pub(crate) fn set_running_head(&mut self, left: String, right: String) {
        self.running_head = Some((left, right));
    }

    pub(crate) fn line_h(size: f32) -> f32 {
        size * LINE_EM * MM_PER_PT
    }

    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        self.m.text_em(&self.clean(text)) * size * MM_PER_PT
    }

    fn push(&mut self, cmd: Cmd) {
        let page = match self.target {
            Some(i) => self.pages.get_mut(i),
            None => self.pages.last_mut(),
        };
        if let Some(p) = page {
            p.cmds.push(cmd);
        }
    }

    pub(crate) fn page_height(&self) -> f32 {
        self.h
    }

    /// Draws on every page after layout (footers): `f(layout, page_no, pages)`, with
    /// page numbers from 1.
    pub(crate) fn on_each_page(&mut self, mut f: impl FnMut(&mut Layout, usize, usize)) {
        let n = self.pages.len();
        for i in 0..n {
            self.target = Some(i);
            f(self, i + 1, n);
        }
        self.target = None;
    }

    /// Two label / value columns side by side (customer | appliance). Falls back to
    /// one column after the other when they do not fit on the page together.
    pub(crate) fn key_values_2col(
        &mut self,
        label_w: f32,
        size: f32,
        left: &[(String, String)],
        right: &[(String, String)],
    ) {
        let lh = Self::line_h(size);
        let gutter = 6.0;
        let col_w = (self.content_width() - gutter) / 2.0;
        let height = |l: &Layout, rows: &[(String, String)]| -> f32 {
            rows.iter()
                .map(|(k, v)| {
                    let n = l
                        .wrap(k, size, label_w - 1.5)
                        .len()
                        .max(l.wrap(v, size, col_w - label_w).len());
                    n as f32 * lh
                })
                .sum()
        };
        let h = height(self, left).max(height(self, right));
        if h > self.room() {
            self.key_values(label_w, size, left);
            self.key_values(label_w, size, right);
            return;
        }
        let top = self.y;
        let x0 = self.x0();
        for (rows, x) in [(left, x0), (right, x0 + col_w + gutter)] {
            self.y = top;
            for (k, v) in rows {
                let kl = self.wrap(k, size, label_w - 1.5);
                let vl = self.wrap(v, size, col_w - label_w);
                let n = kl.len().max(vl.len());
                for i in 0..n {
                    let y = self.y;
                    if let Some(t) = kl.get(i) {
                        self.text_at(x, y, size, MUTED, t);
                    }
                    if let Some(t) = vl.get(i) {
                        self.text_at(x + label_w, y, size, DARK, t);
                    }
                    self.y += lh;
                }
            }
        }
        self.y = top + h;
    }

    /// Space left on the current page below `y`.
    pub(crate) fn room(&self) -> f32 {
        if self.roll {
            f32::INFINITY
        } else {
            self.h - self.bottom - self.y
        }
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(Page {
            w: self.w,
            h: self.h,
            cmds: Vec::new(),
        });
        self.y = self.top;
        if let Some((l, r)) = self.running_head.clone() {
            let size = self.running_head_size;
            let y = self.y;
            self.text_at(self.x0(), y, size, MUTED, &l);
            self.text_right(self.x1(), y, size, MUTED, &r);
            self.y += Self::line_h(size);
            self.rule(0.3, RULE);
            self.y += 2.0;
        }
    }

    /// Starts a new page unless `h` mm still fit. Returns whether it broke the page.
    pub(crate) fn ensure(&mut self, h: f32) -> bool {
        if h > self.room() {
            self.new_page();
            true
        } else {
            false
        }
    }

    pub(crate) fn gap(&mut self, h: f32) {
        self.y += h;
    }

    /// Text whose line box starts at `top` (not the baseline).
    pub(crate) fn text_at(&mut self, x: f32, top: f32, size: f32, gray: f32, text: &str) {
        if text.is_empty() {
            return;
        }
        let text = self.clean(text).replace('\n', " ");
        self.push(Cmd::Text {
            x,
            y: top + ASCENT_EM * size * MM_PER_PT,
            size,
            gray,
            text,
        });
    }

    pub(crate) fn text_right(&mut self, x_right: f32, top: f32, size: f32, gray: f32, text: &str) {
        let w = self.width(text, size);
        self.text_at(x_right - w, top, size, gray, text);
    }

    pub(crate) fn text_center(&mut self, x_mid: f32, top: f32, size: f32, gray: f32, text: &str) {
        let w = self.width(text, size);
        self.text_at(x_mid - w / 2.0, top, size, gray, text);
    }

    fn text_aligned(
        &mut self,
        (x, width): (f32, f32),
        top: f32,
        size: f32,
        gray: f32,
        align: Align,
        text: &str,
    ) {
        match align {
            Align::Left => self.text_at(x, top, size, gray, text),
            Align::Right => self.text_right(x + width, top, size, gray, text),
        }
    }

    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width_pt: f32, gray: f32) {
        self.push(Cmd::Line {
            x1,
            y1,
            x2,
            y2,
            width_pt,
            gray,
        });
    }

    /// A horizontal rule across the content width at the current position.
    pub(crate) fn rule(&mut self, width_pt: f32, gray: f32) {
        let (x0, x1, y) = (self.x0(), self.x1(), self.y);
        self.line(x0, y, x1, y, width_pt, gray);
    }

    pub(crate) fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        self.push(Cmd::Fill { x, y, w, h, gray });
    }

    pub(crate) fn image(&mut self, image: usize, x: f32, y: f32, w: f32, h: f32) {
        self.push(Cmd::Image { image, x, y, w, h });
    }

    /// Wrapped text flowing down from the current position, breaking pages as needed.
    pub(crate) fn paragraph(&mut self, x: f32, width: f32, size: f32, gray: f32, text: &str) {
        let lh = Self::line_h(size);
        for line in self.wrap(text, size, width) {
            self.ensure(lh);
            let y = self.y;
            self.text_at(x, y, size, gray, &line);
            self.y += lh;
        }
    }

    /// A section heading with a rule under it; kept with the following `keep` mm.
    pub(crate) fn heading(&mut self, text: &str, size: f32, keep: f32) {
        let lh = Self::line_h(size);
        self.ensure(lh + 1.5 + keep);
        let (x, y) = (self.x0(), self.y);
        self.text_at(x, y, size, BLACK, text);
        self.y += lh;
        self.rule(0.5, RULE);
        self.y += 1.5;
    }

    /// Label / value rows: the label in a fixed column, the value wrapped beside it.
    pub(crate) fn key_values(&mut self, label_w: f32, size: f32, rows: &[(String, String)]) {
        let lh = Self::line_h(size);
        let x = self.x0();
        let vw = self.content_width() - label_w;
        for (label, value) in rows {
            let llines = self.wrap(label, size, label_w - 1.5);
            let vlines = self.wrap(value, size, vw);
            let n = llines.len().max(vlines.len()).max(1);
            // Keep a row together when it fits on one page.
            if (n as f32) * lh <= self.page_body() {
                self.ensure(n as f32 * lh);
            }
            for i in 0..n {
                self.ensure(lh);
                let y = self.y;
                if let Some(l) = llines.get(i) {
                    self.text_at(x, y, size, MUTED, l);
                }
                if let Some(v) = vlines.get(i) {
                    self.text_at(x + label_w, y, size, DARK, v);
                }
                self.y += lh;
            }
        }
    }

    fn page_body(&self) -> f32 {
        if self.roll {
            f32::INFINITY
        } else {
            // Leave room for a running head on continuation pages.
            self.h - self.top - self.bottom - 10.0
        }
    }

    /// A table whose header row is repeated on every page it runs onto.
    pub(crate) fn table(&mut self, cols: &[Col], rows: &[Vec<String>], size: f32) {
        let pad = 1.2;
        let lh = Self::line_h(size);
        let x0 = self.x0();
        let header_lines: Vec<Vec<String>> = cols
            .iter()
            .map(|c| self.wrap(&c.title, size, c.width - 2.0 * pad))
            .collect();
        let header_h = header_lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad;

        let draw_header = |l: &mut Layout| {
            let y = l.y;
            let total: f32 = cols.iter().map(|c| c.width).sum();
            l.fill(x0, y, total, header_h, SHADE);
            let mut x = x0;
            for (c, lines) in cols.iter().zip(&header_lines) {
                for (i, t) in lines.iter().enumerate() {
                    l.text_aligned(
                        (x + pad, c.width - 2.0 * pad),
                        y + pad + i as f32 * lh,
                        size,
                        BLACK,
                        c.align,
                        t,
                    );
                }
                x += c.width;
            }
            l.y += header_h;
        };

        let first_row_h = rows
            .first()
            .map(|r| self.row_height(cols, r, size, pad))
            .unwrap_or(0.0);
        self.ensure(header_h + first_row_h);
        draw_header(self);
        let total: f32 = cols.iter().map(|c| c.width).sum();
        for row in rows {
            let cells: Vec<Vec<String>> = cols
                .iter()
                .zip(row)
                .map(|(c, t)| self.cell_lines(t, size, c.width - 2.0 * pad))
                .collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad;
            if self.ensure(h) {
                draw_header(self);
            }
            let y = self.y;
            let mut x = x0;
            for (c, lines) in cols.iter().zip(&cells) {
                for (i, t) in lines.iter().enumerate() {
                    self.text_aligned(
                        (x + pad, c.width - 2.0 * pad),
                        y + pad + i as f32 * lh,
                        size,
                        DARK,
                        c.align,
                        t,
                    );
                }
                x += c.width;
            }
            self.y += h;
            let yy = self.y;
            self.line(x0, yy, x0 + total, yy, 0.3, RULE);
        }
    }

    fn row_height(&self, cols: &[Col], row: &[String], size: f32, pad: f32) -> f32 {
        let n = cols
            .iter()
            .zip(row)
            .map(|(c, t)| self.cell_lines(t, size, c.width - 2.0 * pad).len())
            .max()
            .unwrap_or(1);
        n as f32 * Self::line_h(size) + 2.0 * pad
    }

    fn cell_lines(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = self.wrap(text, size, width);
        if lines.len() > MAX_CELL_LINES {
            lines.truncate(MAX_CELL_LINES);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && self.width(&format!("{last}…"), size) > width {
                    last.pop();
                }
                last.push('…');
            }
        }
        lines
    }

    /// Breaks `text` into lines no wider than `width` mm: Latin per word (a word longer
    /// than the line is split per character), CJK per character, with closing
    /// punctuation kept off the start of a line and opening punctuation off its end.
    /// Explicit newlines start new lines.
    pub(crate) fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        // A hair of tolerance so text measured to exactly `width` is not wrapped.
        let max_em = ((width + 0.01) / (size * MM_PER_PT)).max(1.0);
        let text = self.clean(text);
        let mut out = Vec::new();
        for para in text.split('\n') {
            let mut w = Wrapper {
                m: self.m,
                max_em,
                line: String::new(),
                line_em: 0.0,
                pending_space: false,
                out: &mut out,
            };
            for tok in tokens(para) {
                match tok {
                    Tok::Space => w.pending_space = !w.line.is_empty(),
                    Tok::Word(s) => w.word(s),
                    Tok::Cjk(c) => w.cjk(c),
                }
            }
            w.flush_end();
        }
        out
    }

    /// Ends the document. A roll's page height becomes the content height.
    pub(crate) fn finish(mut self) -> Vec<Page> {
        if self.roll {
            let h = self.y + self.bottom;
            for p in &mut self.pages {
                p.h = h;
            }
        }
        self.pages
    }
}

enum Tok<'a> {
    Space,
    Word(&'a str),
    Cjk(char),
}

/// Characters that may break on either side: CJK ideographs, kana, Hangul, CJK and
/// full-width punctuation.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FFF
        | 0x3000..=0x30FF
        | 0x3100..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// May not start a line.
fn is_closing(c: char) -> bool {
    "，。、；：！？）》」』】〕〉”’％,.;:!?)]}%…—·".contains(c)
}

/// May not end a line.
fn is_opening(c: char) -> bool {
    "（《「『【〔〈“‘([{¥￥".contains(c)
}

fn tokens(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        let brk = c.is_whitespace() || is_cjk(c);
        if brk {
            if let Some(st) = start.take() {
                out.push(Tok::Word(&s[st..i]));
            }
            out.push(if c.is_whitespace() {
                Tok::Space
            } else {
                Tok::Cjk(c)
            });
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(Tok::Word(&s[st..]));
    }
    out
}

struct Wrapper<'a> {
    m: &'static Metrics,
    max_em: f32,
    line: String,
    line_em: f32,
    pending_space: bool,
    out: &'a mut Vec<String>,
}

impl Wrapper<'_> {
    fn space_em(&self) -> f32 {
        if self.pending_space {
            self.m.char_em(' ')
        } else {
            0.0
        }
    }

    fn append(&mut self, s: &str, em: f32) {
        if self.pending_space {
            self.line.push(' ');
            self.line_em += self.m.char_em(' ');
            self.pending_space = false;
        }
        self.line.push_str(s);
        self.line_em += em;
    }

    /// Ends the current line; a trailing opening bracket moves to the next line.
    fn break_line(&mut self) {
        let carry = match self.line.chars().last() {
            Some(c) if is_opening(c) && self.line.chars().count() > 1 => {
                self.line.pop();
                Some(c)
            }
            _ => None,
        };
        let line = std::mem::take(&mut self.line);
        self.out.push(line.trim_end().to_string());
        self.line_em = 0.0;
        self.pending_space = false;
        if let Some(c) = carry {
            self.line.push(c);
            self.line_em = self.m.char_em(c);
        }
    }

    fn word(&mut self, s: &str) {
        let em = self.m.text_em(s);
        if self.line_em + self.space_em() + em <= self.max_em {
            self.append(s, em);
            return;
        }
        if !self.line.is_empty() && em <= self.max_em {
            self.break_line();
            self.append(s, em);
            return;
        }
        // Longer than a line: split per character.
        for c in s.chars() {
            let ce = self.m.char_em(c);
            if self.line_em + self.space_em() + ce > self.max_em && !self.line.is_empty() {
                self.break_line();
            }
            let mut b = [0u8; 4];
            self.append(c.encode_utf8(&mut b), ce);
        }
    }

    fn cjk(&mut self, c: char) {
        let ce = self.m.char_em(c);
        let fits = self.line_em + self.space_em() + ce <= self.max_em;
        if !fits && !self.line.is_empty() {
            if is_closing(c) {
                // Hang it rather than start a line with it (its ink sits in the left
                // half of the em, so it barely overhangs).
                self.append(&c.to_string(), ce);
                return;
            }
            self.break_line();
        }
        self.append(&c.to_string(), ce);
    }

    fn flush_end(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.out.push(line.trim_end().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::a4(crate::font::metrics().unwrap())
    }

    #[test]
    fn latin_wraps_per_word_within_width() {
        let l = layout();
        let text = "Flat 12B, Riverside Court, 145 Commercial Road, Limehouse, London E14 7JL, United Kingdom";
        let lines = l.wrap(text, 10.0, 60.0);
        assert!(lines.len() >= 3, "{lines:?}");
        for line in &lines {
            assert!(l.width(line, 10.0) <= 60.0 + 1e-3, "{line}");
            assert!(!line.starts_with(' ') && !line.ends_with(' '));
        }
        // No word was split.
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn cjk_wraps_per_character_and_keeps_punctuation_off_line_starts() {
        let l = layout();
        let text = "广东省深圳市南山区粤海街道科技园南区高新南七道数字技术园，B座十二楼1203室（前台代收）。";
        for width in [20.0, 25.0, 31.0, 40.0] {
            let lines = l.wrap(text, 10.0, width);
            assert!(lines.len() >= 2);
            assert_eq!(lines.concat(), text);
            for line in &lines {
                let first = line.chars().next().unwrap();
                assert!(!is_closing(first), "line starts with {first}: {lines:?}");
                let last = line.chars().last().unwrap();
                assert!(!is_opening(last), "line ends with {last}: {lines:?}");
            }
        }
    }

    #[test]
    fn long_words_are_split_and_newlines_kept() {
        let l = layout();
        let lines = l.wrap("SN-0123456789ABCDEF0123456789ABCDEF\nsecond", 10.0, 20.0);
        assert!(lines.len() >= 3);
        assert_eq!(lines.last().unwrap(), "second");
        for line in &lines {
            assert!(l.width(line, 10.0) <= 20.0 + 1e-3);
        }
    }

    #[test]
    fn text_the_font_cannot_draw_is_left_out_marked_and_remembered() {
        let l = layout();
        assert!(!l.omitted());
        let lines = l.wrap("客户很满意😀😀，下次再来👍", 9.0, 100.0);
        assert_eq!(lines, vec!["客户很满意[…]，下次再来[…]".to_string()]);
        assert!(l.omitted());
        let mut l2 = layout();
        l2.text_at(10.0, 10.0, 9.0, DARK, "ok 🙂 done");
        assert!(l2.omitted());
        let pages = l2.finish();
        let texts: Vec<&str> = pages[0]
            .cmds
            .iter()
            .filter_map(|c| match c {
                Cmd::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, vec!["ok […] done"]);
        // Width is measured on what prints.
        assert!((l.width("a😀", 10.0) - l.width("a[…]", 10.0)).abs() < 1e-4);
    }

    #[test]
    fn table_repeats_its_header_on_every_page() {
        let mut l = layout();
        let cols = vec![
            col("Item", 100.0, Align::Left),
            col("Amount", 40.0, Align::Right),
        ];
        let rows: Vec<Vec<String>> = (0..120)
            .map(|i| vec![format!("line {i}"), format!("¥{i}.00")])
            .collect();
        l.table(&cols, &rows, 9.0);
        let pages = l.finish();
        assert!(pages.len() >= 3);
        for p in &pages {
            let headers = p
                .cmds
                .iter()
                .filter(|c| matches!(c, Cmd::Text { text, .. } if text == "Amount"))
                .count();
            assert_eq!(headers, 1);
            for c in &p.cmds {
                if let Cmd::Text { y, .. } = c {
                    assert!(*y < 297.0 - 22.0 + 1.0, "text in the footer area at {y}");
                }
            }
        }
    }
}
