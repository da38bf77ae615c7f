//! Turns laid-out pages into PDF bytes with printpdf, then fixes what printpdf leaves
//! random or empty: resource names, the document info, the trailer /ID.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use lopdf::{Dictionary, Object, StringFormat};
use printpdf::{
    Color, CurTransMat, FontId, Greyscale, Line, LinePoint, Mm, Op, PaintMode, PdfDocument,
    PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, RawImage, Rect, TextItem,
    TextMatrix, XObject, XObjectId, XObjectTransform,
};
use sha2::{Digest, Sha256};

use crate::layout::{Cmd, Page, MM_PER_PT};
use crate::model::Lang;
use crate::DocsError;

pub(crate) struct Meta {
    pub(crate) title: String,
    pub(crate) subject: String,
    pub(crate) author: String,
    pub(crate) lang: Lang,
    pub(crate) created: DateTime<FixedOffset>,
}

const FONT_RESOURCE: &str = "F1";
const PRODUCER: &str = concat!(
    "Onsite (onsite-docs ",
    env!("CARGO_PKG_VERSION"),
    ", printpdf)"
);

fn pt(mm: f32) -> Pt {
    Pt(mm / MM_PER_PT)
}

fn grey(g: f32) -> Color {
    Color::Greyscale(Greyscale {
        percent: g,
        icc_profile: None,
    })
}

pub(crate) fn write(
    meta: &Meta,
    pages: &[Page],
    images: Vec<RawImage>,
) -> Result<Vec<u8>, DocsError> {
    let mut chars = BTreeSet::new();
    for p in pages {
        for c in &p.cmds {
            if let Cmd::Text { text, .. } = c {
                chars.extend(text.chars());
            }
        }
    }
    let font = crate::font::subset_for(&chars)?;

    let mut doc = PdfDocument::new(&meta.title);
    let font_id = FontId(FONT_RESOURCE.to_string());
    doc.resources
        .fonts
        .map
        .insert(font_id.clone(), PdfFont::new(font.parsed));
    let mut id_hash = Sha256::new();
    for (i, img) in images.into_iter().enumerate() {
        if let printpdf::RawImageData::U8(px) = &img.pixels {
            id_hash.update(px);
        }
        doc.resources
            .xobjects
            .map
            .insert(image_id(i), XObject::Image(img));
    }
    doc.pages = pages
        .iter()
        .map(|p| PdfPage::new(Mm(p.w), Mm(p.h), page_ops(p, &font_id)))
        .collect();

    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut lo = printpdf::to_lopdf_doc(&doc, &opts, &mut warnings);
    if let Some(w) = warnings
        .iter()
        .find(|w| w.severity == printpdf::PdfParseErrorSeverity::Error)
    {
        return Err(DocsError::Pdf(w.msg.clone()));
    }
    // Soft masks (transparent signatures) need 1.4; say what we use.
    lo.version = "1.7".to_string();

    // Document info: real metadata, dates from the input, no PDF/X marker.
    let info = Dictionary::from_iter(vec![
        ("Title", text_string(&meta.title)),
        ("Author", text_string(&meta.author)),
        ("Subject", text_string(&meta.subject)),
        ("Creator", text_string("Onsite")),
        ("Producer", text_string(PRODUCER)),
        ("CreationDate", pdf_date(meta.created)),
        ("ModDate", pdf_date(meta.created)),
    ]);
    match lo.trailer.get(b"Info").and_then(Object::as_reference) {
        Ok(id) => {
            lo.objects.insert(id, Object::Dictionary(info));
        }
        Err(_) => {
            let id = lo.add_object(Object::Dictionary(info));
            lo.trailer.set("Info", Object::Reference(id));
        }
    }
    let lang_tag = match meta.lang {
        Lang::ZhCn => "zh-CN",
        Lang::En => "en",
    };
    if let Ok(root) = lo.trailer.get(b"Root").and_then(Object::as_reference) {
        if let Some(Object::Dictionary(cat)) = lo.objects.get_mut(&root) {
            cat.set("Lang", Object::string_literal(lang_tag));
        }
    }

    // A stable /ID: a hash of what the document shows, so identical input gives
    // identical bytes.
    id_hash.update(meta.title.as_bytes());
    id_hash.update(meta.created.to_rfc3339().as_bytes());
    for p in pages {
        id_hash.update(format!("{p:?}").as_bytes());
    }
    let id: Vec<u8> = id_hash.finalize()[..16].to_vec();
    lo.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ]),
    );

    lo.compress();
    let mut out = Vec::new();
    lo.save_to(&mut out)
        .map_err(|e| DocsError::Pdf(format!("serialising failed: {e}")))?;
    Ok(out)
}

fn image_id(i: usize) -> XObjectId {
    XObjectId(format!("Im{i}"))
}

/// PDF text string: PDFDocEncoding-safe ASCII as is, anything else UTF-16BE with BOM.
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut b = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_be_bytes());
        }
        Object::String(b, StringFormat::Hexadecimal)
    }
}

/// D:YYYYMMDDHHmmSS+HH'mm'
fn pdf_date(t: DateTime<FixedOffset>) -> Object {
    let off = t.offset().local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    let s = format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        off / 3600,
        off % 3600 / 60
    );
    Object::String(s.into_bytes(), StringFormat::Literal)
}

fn page_ops(p: &Page, font: &FontId) -> Vec<Op> {
    let y = |mm: f32| pt(p.h - mm);
    let mut ops = Vec::new();
    // Graphics first (text may not interleave with path construction), text on top.
    let mut fill: Option<f32> = None;
    let mut stroke: Option<(f32, f32)> = None;
    for c in &p.cmds {
        match c {
            Cmd::Fill {
                x,
                y: top,
                w,
                h,
                gray,
            } => {
                if fill != Some(*gray) {
                    ops.push(Op::SetFillColor { col: grey(*gray) });
                    fill = Some(*gray);
                }
                ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: pt(*x),
                        y: y(top + h),
                        width: pt(*w),
                        height: pt(*h),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                });
            }
            Cmd::Line {
                x1,
                y1,
                x2,
                y2,
                width_pt,
                gray,
            } => {
                if stroke != Some((*width_pt, *gray)) {
                    ops.push(Op::SetOutlineColor { col: grey(*gray) });
                    ops.push(Op::SetOutlineThickness { pt: Pt(*width_pt) });
                    stroke = Some((*width_pt, *gray));
                }
                ops.push(Op::DrawLine {
                    line: Line {
                        points: vec![
                            LinePoint {
                                p: Point {
                                    x: pt(*x1),
                                    y: y(*y1),
                                },
                                bezier: false,
                            },
                            LinePoint {
                                p: Point {
                                    x: pt(*x2),
                                    y: y(*y2),
                                },
                                bezier: false,
                            },
                        ],
                        is_closed: false,
                    },
                });
            }
            Cmd::Image {
                image,
                x,
                y: top,
                w,
                h,
            } => {
                ops.push(Op::SaveGraphicsState);
                ops.push(Op::SetTransformationMatrix {
                    matrix: CurTransMat::Raw([
                        pt(*w).0,
                        0.0,
                        0.0,
                        pt(*h).0,
                        pt(*x).0,
                        y(top + h).0,
                    ]),
                });
                ops.push(Op::UseXobject {
                    id: image_id(*image),
                    transform: XObjectTransform {
                        no_auto_scale: true,
                        ..Default::default()
                    },
                });
                ops.push(Op::RestoreGraphicsState);
                // The restored state forgets colours set inside; ours were set outside.
            }
            Cmd::Text { .. } => {}
        }
    }

    let mut started = false;
    let mut size: Option<f32> = None;
    let mut text_fill: Option<f32> = None;
    for c in &p.cmds {
        if let Cmd::Text {
            x,
            y: base,
            size: s,
            gray,
            text,
        } = c
        {
            if !started {
                ops.push(Op::StartTextSection);
                started = true;
            }
            if size != Some(*s) {
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(font.clone()),
                    size: Pt(*s),
                });
                size = Some(*s);
            }
            if text_fill != Some(*gray) {
                ops.push(Op::SetFillColor { col: grey(*gray) });
                text_fill = Some(*gray);
            }
            ops.push(Op::SetTextMatrix {
                matrix: TextMatrix::Translate(pt(*x), y(*base)),
            });
            ops.push(Op::ShowText {
                items: vec![TextItem::Text(text.clone())],
            });
        }
    }
    if started {
        ops.push(Op::EndTextSection);
    }
    ops
}
