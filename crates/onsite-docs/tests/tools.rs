//! Checks the rendered documents with real PDF tools: qpdf (structure), pdffonts
//! (embedded subset font), pdftotext (the text a reader gets back), pdfinfo (metadata,
//! page sizes). These tests FAIL when a tool is missing: install `qpdf` and
//! `poppler-utils`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use onsite_docs::samples;
use onsite_docs::*;

fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}): install qpdf and poppler-utils (apt-get install qpdf poppler-utils)")
    });
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// All sample documents, rendered once into a temporary folder.
fn samples_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        samples::render_all(dir.path()).unwrap();
        dir
    })
    .path()
}

fn sample(name: &str) -> PathBuf {
    let p = samples_dir().join(name);
    assert!(p.exists(), "sample {name} was not rendered");
    p
}

fn text_of(path: &Path) -> String {
    let (ok, text) = run("pdftotext", &[path.to_str().unwrap(), "-"]);
    assert!(ok, "pdftotext failed on {}: {text}", path.display());
    text
}

fn page_text(path: &Path, page: usize) -> String {
    let p = page.to_string();
    let (ok, text) = run(
        "pdftotext",
        &["-f", &p, "-l", &p, path.to_str().unwrap(), "-"],
    );
    assert!(ok, "pdftotext failed: {text}");
    text
}

fn info(path: &Path) -> String {
    let (ok, text) = run("pdfinfo", &[path.to_str().unwrap()]);
    assert!(ok, "pdfinfo failed: {text}");
    text
}

fn pages(path: &Path) -> usize {
    info(path)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("page count")
}

/// Page size in points.
fn page_size(path: &Path) -> (f32, f32) {
    let i = info(path);
    let line = i
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .expect("page size");
    let nums: Vec<f32> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

fn all_samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_document_in_both_languages_and_papers_is_rendered() {
    let names: Vec<String> = all_samples()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for lang in ["zh-CN", "en"] {
        for doc in [
            "sign-off_{}_A4",
            "sign-off-100-lines_{}_A4",
            "quote_{}_A4",
            "quote-awaiting-acceptance_{}_A4",
            "payment-receipt_{}_A4",
            "payment-receipt_{}_80mm",
            "carry-back_{}_A4",
            "carry-back_{}_80mm",
            "day-end_{}_A4",
        ] {
            let name = format!("{}.pdf", doc.replace("{}", lang));
            assert!(names.contains(&name), "missing {name} in {names:?}");
        }
    }
}

#[test]
fn qpdf_check_passes_for_every_document() {
    for p in all_samples() {
        let (ok, out) = run("qpdf", &["--check", p.to_str().unwrap()]);
        assert!(ok, "qpdf --check failed for {}:\n{out}", p.display());
        assert!(
            out.contains("No syntax or stream encoding errors found"),
            "{}: {out}",
            p.display()
        );
        assert!(!out.contains("WARNING"), "{}: {out}", p.display());
    }
}

#[test]
fn pdffonts_shows_one_embedded_subset_font() {
    for p in all_samples() {
        let (ok, out) = run("pdffonts", &[p.to_str().unwrap()]);
        assert!(ok, "pdffonts failed: {out}");
        let rows: Vec<&str> = out
            .lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(rows.len(), 1, "{}: expected one font:\n{out}", p.display());
        let cols: Vec<&str> = rows[0].split_whitespace().collect();
        // name, type (may be several words), encoding, emb, sub, uni, object, generation
        let n = cols.len();
        assert!(
            cols[0].len() > 7
                && cols[0].as_bytes()[6] == b'+'
                && cols[0].ends_with("NotoSansCJKsc-Regular"),
            "{}: {}",
            p.display(),
            rows[0]
        );
        assert_eq!(
            &cols[n - 5..n - 2],
            &["yes", "yes", "yes"],
            "emb/sub/uni in {}: {}",
            p.display(),
            rows[0]
        );
    }
}

#[test]
fn sign_off_text_has_customer_totals_hash_and_page_footer() {
    let zh = text_of(&sample("sign-off_zh-CN_A4.pdf"));
    let input = samples::sign_off(Lang::ZhCn);
    for needle in [
        "王伟",
        "WO-20250614-0172",
        "北京市朝阳区望京街道",
        "AQ6002311080457",
        "2024年11月8日",
        "¥583.00",
        "-¥380.00",
        "¥203.00",
        "¥103.00",
        "部分已付",
        "保修",
        "在保修期内",
        "微信支付",
        "李强",
        "本人确认上述服务已完成",
        input.content_hash.as_str(),
        "第1页，共1页",
    ] {
        assert!(zh.contains(needle), "zh sign-off lacks {needle:?}:\n{zh}");
    }

    let en_path = sample("sign-off_en_A4.pdf");
    let en = text_of(&en_path);
    let input = samples::sign_off(Lang::En);
    let n = pages(&en_path);
    for needle in [
        "Margaret O'Donnell-Fitzgerald",
        "Service sign-off sheet",
        "Reverse-osmosis water purifier",
        "¥583.00",
        "¥203.00",
        "Balance outstanding",
        "Part paid",
        "Within the 12-month",
        input.content_hash.as_str(),
        &format!("Page 1 of {n}"),
        &format!("Page {n} of {n}"),
    ] {
        assert!(en.contains(needle), "en sign-off lacks {needle:?}:\n{en}");
    }
    // The hash is on every page.
    for page in 1..=n {
        assert!(page_text(&en_path, page).contains(&input.content_hash));
    }
}

#[test]
fn a_hundred_line_job_paginates_with_the_table_header_repeated() {
    for (file, header, lang) in [
        (
            "sign-off-100-lines_zh-CN_A4.pdf",
            ["项目", "保修/合同/收费及原因", "金额"],
            Lang::ZhCn,
        ),
        (
            "sign-off-100-lines_en_A4.pdf",
            ["Item", "Warranty/contract/charged, reason", "Amount"],
            Lang::En,
        ),
    ] {
        let path = sample(file);
        let n = pages(&path);
        assert!(n >= 3, "{file}: only {n} pages");
        let input = samples::sign_off_100_lines(lang);
        let mut seen = 0;
        for page in 1..=n {
            let text = page_text(&path, page);
            // A description may wrap inside its cell.
            let flat = text.replace('\n', " ");
            let rows_here = input
                .items
                .iter()
                .filter(|it| flat.contains(&it.description))
                .count();
            if rows_here > 0 {
                for h in header {
                    assert!(
                        text.contains(h),
                        "{file} page {page} lacks header {h:?}:\n{text}"
                    );
                }
            }
            seen += rows_here;
            let footer = match lang {
                Lang::ZhCn => format!("第{page}页，共{n}页"),
                Lang::En => format!("Page {page} of {n}"),
            };
            assert!(
                text.contains(&footer),
                "{file} page {page} lacks {footer:?}"
            );
            assert!(
                text.contains(&input.content_hash),
                "{file} page {page} lacks the hash"
            );
        }
        assert_eq!(seen, 100, "{file}: every line item once");
        let all = text_of(&path);
        for total in ["¥3,300.00", "-¥2,175.00", "¥1,125.00"] {
            assert!(all.contains(total), "{file} lacks {total}");
        }
    }
}

#[test]
fn quote_shows_fee_table_validity_and_acceptance() {
    let zh = text_of(&sample("quote_zh-CN_A4.pdf"));
    for needle in [
        "服务报价单",
        "QT-20250614-0172",
        "FT-2025.04",
        "报价有效期至：2025年6月28日",
        "客户已接受本报价",
        "王伟",
        "¥203.00",
    ] {
        assert!(zh.contains(needle), "zh quote lacks {needle:?}:\n{zh}");
    }
    let en = text_of(&sample("quote-awaiting-acceptance_en_A4.pdf"));
    for needle in [
        "Service quote",
        "Valid until: 28 Jun 2025",
        "Awaiting the customer's acceptance",
        "Margaret O'Donnell-Fitzgerald",
        "Amount payable",
        "¥203.00",
    ] {
        assert!(en.contains(needle), "en quote lacks {needle:?}:\n{en}");
    }
    assert!(!en.contains("The customer accepted"));
}

#[test]
fn payment_receipts_show_amount_method_change_and_balance() {
    for (file, needles) in [
        (
            "payment-receipt_zh-CN_A4.pdf",
            [
                "收款收据",
                "王伟",
                "现金",
                "¥103.00",
                "¥200.00",
                "¥97.00",
                "¥0.00",
                "找零",
            ],
        ),
        (
            "payment-receipt_zh-CN_80mm.pdf",
            [
                "收款收据",
                "王伟",
                "现金",
                "¥103.00",
                "¥200.00",
                "¥97.00",
                "¥0.00",
                "找零",
            ],
        ),
        (
            "payment-receipt_en_A4.pdf",
            [
                "Payment receipt",
                "Margaret O'Donnell-Fitzgerald",
                "Cash",
                "¥103.00",
                "¥200.00",
                "¥97.00",
                "Outstanding balance",
                "Change",
            ],
        ),
        (
            "payment-receipt_en_80mm.pdf",
            [
                "Payment receipt",
                "Margaret",
                "Cash",
                "¥103.00",
                "¥200.00",
                "¥97.00",
                "Outstanding balance",
                "Change",
            ],
        ),
    ] {
        let text = text_of(&sample(file));
        for n in needles {
            assert!(text.contains(n), "{file} lacks {n:?}:\n{text}");
        }
    }
}

#[test]
fn carry_back_receipts_tell_the_customer_to_present_them() {
    for (file, needles) in [
        (
            "carry-back_zh-CN_A4.pdf",
            [
                "设备带回收据",
                "CB-20250614-0009",
                "欧阳玥",
                "RS85T2407150921",
                "遥控器、花洒软管1.5米",
                "划痕",
                "E3",
                "2025年6月21日",
                "取回设备时请出示本收据。",
            ],
        ),
        (
            "carry-back_zh-CN_80mm.pdf",
            [
                "设备带回收据",
                "CB-20250614-0009",
                "欧阳玥",
                "RS85T2407150921",
                "遥控器",
                "划痕",
                "E3",
                "2025年6月21日",
                "取回设备时请出示本收据。",
            ],
        ),
        (
            "carry-back_en_A4.pdf",
            [
                "Carry-back receipt",
                "CB-20250614-0009",
                "Sir Alexander",
                "RS85T2407150921",
                "Remote control",
                "scratch",
                "E3",
                "21 Jun 2025",
                "Present this receipt when the appliance is returned.",
            ],
        ),
        (
            "carry-back_en_80mm.pdf",
            [
                "Carry-back receipt",
                "CB-20250614-0009",
                "Sir Alexander",
                "RS85T2407150921",
                "Remote control",
                "scratch",
                "E3",
                "21 Jun 2025",
                "Present this receipt when the appliance is returned.",
            ],
        ),
    ] {
        let text = text_of(&sample(file));
        for n in needles {
            assert!(text.contains(n), "{file} lacks {n:?}:\n{text}");
        }
    }
}

#[test]
fn day_end_sums_money_by_method_and_lists_everything() {
    let zh = text_of(&sample("day-end_zh-CN_A4.pdf"));
    for needle in [
        "日结汇总",
        "2025年6月14日",
        "微信支付",
        "¥175.00",
        "现金",
        "¥143.00",
        "支付宝",
        "¥348.00",
        "RO膜旧件",
        "CB-20250602-0004",
        "已逾期",
        "¥131.00",
        "陈喆",
        "赵堃",
        "孙祎",
    ] {
        assert!(zh.contains(needle), "zh day-end lacks {needle:?}:\n{zh}");
    }
    let en = text_of(&sample("day-end_en_A4.pdf"));
    for needle in [
        "Day-end summary",
        "WeChat Pay",
        "¥175.00",
        "¥348.00",
        "overdue",
        "Parts returned",
        "Mileage",
        "¥131.00",
    ] {
        assert!(en.contains(needle), "en day-end lacks {needle:?}:\n{en}");
    }
}

#[test]
fn rolls_are_80mm_wide_and_as_tall_as_their_content() {
    for file in [
        "payment-receipt_zh-CN_80mm.pdf",
        "payment-receipt_en_80mm.pdf",
        "carry-back_zh-CN_80mm.pdf",
        "carry-back_en_80mm.pdf",
    ] {
        let path = sample(file);
        let (w, h) = page_size(&path);
        assert!((w - 80.0 / 25.4 * 72.0).abs() < 0.5, "{file}: width {w}pt");
        assert!(
            h > 100.0 / 25.4 * 72.0 && h < 400.0 / 25.4 * 72.0,
            "{file}: height {h}pt"
        );
        assert_eq!(pages(&path), 1);
    }
    // Taller content makes a taller roll.
    let (_, receipt) = page_size(&sample("payment-receipt_en_80mm.pdf"));
    let (_, carry) = page_size(&sample("carry-back_en_80mm.pdf"));
    assert!(carry > receipt + 50.0, "{carry} vs {receipt}");
}

#[test]
fn metadata_is_real_and_dated_from_the_input() {
    let i = info(&sample("sign-off_zh-CN_A4.pdf"));
    assert!(
        i.contains("Title:           维修服务签收单 WO-20250614-0172"),
        "{i}"
    );
    assert!(i.contains("Creator:         Onsite"), "{i}");
    assert!(i.contains("Producer:        Onsite"), "{i}");
    assert!(
        i.contains("Author:          安心家电售后服务有限公司"),
        "{i}"
    );
    assert!(
        i.contains("CreationDate:    Sat Jun 14 08:42:10 2025 UTC"),
        "{i}"
    );
    assert!(!i.contains("1970"), "{i}");
    assert!(
        i.contains("Page size:       595.276 x 841.89 pts (A4)"),
        "{i}"
    );
    // No PDF/X claim.
    let bytes = std::fs::read(sample("sign-off_zh-CN_A4.pdf")).unwrap();
    assert!(!bytes.windows(15).any(|w| w == b"GTS_PDFXVersion"));
}

fn render_to_text(name: &str, pdf: Vec<u8>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, pdf).unwrap();
    text_of(&path)
}

/// Emoji and other characters the font has no glyph for are left out with one "[…]" per
/// run and a footnote in the document's language; nothing prints as a box, and the rest of
/// the text is intact.
#[test]
fn characters_missing_from_the_font_are_left_out_with_a_mark_and_a_footnote() {
    let mut input = samples::sign_off(Lang::ZhCn);
    // U+20BB7 (𠮷, CJK Extension B) is not in the font; neither is an emoji.
    input.customer.name = "吉\u{20BB7}祥😀".into();
    input.work_done = "更换滤芯👍🏽，客户很满意😀😀".into();
    let text = render_to_text("missing.pdf", render_sign_off(&input).unwrap());
    assert!(text.contains("吉[…]祥[…]"), "{text}");
    assert!(text.contains("更换滤芯[…]，客户很满意[…]"), "{text}");
    assert!(text.contains("处为无法打印的符号"), "{text}");
    for bad in ['□', '\u{FFFD}', '😀', '👍'] {
        assert!(!text.contains(bad), "{bad:?} printed:\n{text}");
    }

    let mut input = samples::quote(Lang::En, false);
    input.fault_found = "Leaking at the inlet 💧 fixed".into();
    let text = render_to_text("missing-en.pdf", render_quote(&input).unwrap());
    assert!(text.contains("Leaking at the inlet […] fixed"), "{text}");
    assert!(
        text.contains("marks symbols that cannot be printed"),
        "{text}"
    );
    assert!(!text.contains('□'), "{text}");

    // Without such characters there is no footnote.
    let text = text_of(&sample("sign-off_zh-CN_A4.pdf"));
    assert!(!text.contains("无法打印"), "{text}");
}

/// The sign-off sheet prints the diagnosis notes and the work done, and says "—" for a
/// row the visit left empty instead of leaving it blank.
#[test]
fn sign_off_prints_diagnosis_notes_and_work_done_or_a_dash() {
    let text = text_of(&sample("sign-off_zh-CN_A4.pdf"));
    for needle in [
        "检查备注",
        "进水压力0.25MPa",
        "处理内容",
        "拆机移至新橱柜下方",
    ] {
        assert!(
            text.contains(needle),
            "zh sign-off lacks {needle:?}:\n{text}"
        );
    }
    let text = text_of(&sample("sign-off_en_A4.pdf"));
    for needle in [
        "Diagnosis notes",
        "Inlet pressure 0.25 MPa",
        "Work done",
        "Moved the unit",
    ] {
        assert!(
            text.contains(needle),
            "en sign-off lacks {needle:?}:\n{text}"
        );
    }

    let mut input = samples::sign_off(Lang::En);
    input.work_done = "  ".into();
    input.diagnosis_notes = String::new();
    let text = render_to_text("empty.pdf", render_sign_off(&input).unwrap());
    let section = text
        .split("Fault and work done")
        .nth(1)
        .and_then(|rest| rest.split("Charges").next())
        .unwrap_or_else(|| panic!("no fault section:\n{text}"));
    assert!(
        section.contains("Diagnosis notes") && section.contains("Work done"),
        "{section}"
    );
    // The two empty rows, and nothing else in the section, print the dash.
    assert_eq!(section.matches('—').count(), 2, "{section}");
}

/// Lines a service contract pays say "合同" / "Contract", warranty lines "保修" / "Warranty".
#[test]
fn contract_lines_say_contract_and_warranty_lines_warranty() {
    for (lang, contract, warranty) in [
        (Lang::ZhCn, "合同", "保修"),
        (Lang::En, "Contract", "Warranty"),
    ] {
        let mut input = samples::quote(lang, false);
        input.items.truncate(1);
        input.items[0].cover = Cover::Contract;
        input.items[0].reason = "HT-2025-017".into();
        let text = render_to_text("contract.pdf", render_quote(&input).unwrap());
        let row = text
            .lines()
            .find(|l| l.contains("HT-2025-017"))
            .unwrap_or_else(|| panic!("no contract row:\n{text}"));
        assert!(
            row.contains(&format!(
                "{contract}{}",
                if lang == Lang::En { ": " } else { "：" }
            )),
            "{row}"
        );
        assert!(!row.contains(warranty), "{row}");

        let mut input = samples::quote(lang, false);
        input.items = vec![input.items[4].clone()];
        assert_eq!(input.items[0].cover, Cover::Warranty);
        let text = render_to_text("warranty.pdf", render_quote(&input).unwrap());
        assert!(text.contains(warranty), "{text}");
        assert!(
            !text.contains(&format!("{contract}：")) && !text.contains(&format!("{contract}: ")),
            "{text}"
        );
    }
}

#[test]
fn an_unsigned_sign_off_prints_why() {
    let mut input = samples::sign_off(Lang::ZhCn);
    input.signature = CustomerSignature::NotSigned {
        reason: "客户外出，由邻居代为开门，客户拒绝电话确认".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsigned.pdf");
    std::fs::write(&path, render_sign_off(&input).unwrap()).unwrap();
    let text = text_of(&path);
    assert!(text.contains("客户未签名"), "{text}");
    assert!(text.contains("客户外出，由邻居代为开门"), "{text}");
}
