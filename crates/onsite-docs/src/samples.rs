//! Realistic built-in sample data, and [`render_all`], which renders every document in
//! both languages and both paper sizes where they apply. Used by the sample example
//! (and the xtask that calls it), by the tests and by the benchmark.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::model::*;
use crate::DocsError;

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap_or_default()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// The issuing company, in the customer's language.
pub fn company(lang: Lang) -> Company {
    match lang {
        Lang::ZhCn => Company {
            name: "安心家电售后服务有限公司".into(),
            phone: "400-820-1234".into(),
            address: Some("上海市闵行区莘庄工业区春东路508号".into()),
            logo_png: Some(logo_png()),
        },
        Lang::En => Company {
            name: "Anxin Appliance After-Sales Service Co., Ltd.".into(),
            phone: "+86 400-820-1234".into(),
            address: Some(
                "508 Chundong Road, Xinzhuang Industrial Zone, Minhang District, Shanghai".into(),
            ),
            logo_png: Some(logo_png()),
        },
    }
}

fn customer(lang: Lang) -> Customer {
    match lang {
        Lang::ZhCn => Customer {
            name: "王伟".into(),
            phone: Some("138 1234 5678".into()),
            address: "北京市朝阳区望京街道阜通东大街6号院方恒国际中心C座2单元1502室（请从东门进入，门卫处登记）".into(),
        },
        Lang::En => Customer {
            name: "Margaret O'Donnell-Fitzgerald".into(),
            phone: Some("+86 139 0212 4477".into()),
            address: "Apartment 2203, Tower 3, Shimao Riviera Garden, 1 Weifang West Road, Lujiazui, Pudong New Area, Shanghai 200120".into(),
        },
    }
}

fn second_customer(lang: Lang) -> Customer {
    match lang {
        Lang::ZhCn => Customer {
            name: "欧阳玥".into(),
            phone: Some("186 2077 9034".into()),
            address: "广东省广州市天河区珠江新城华夏路28号富力盈信大厦西塔3905室".into(),
        },
        Lang::En => Customer {
            name: "Sir Alexander Montgomery-Wetherington III".into(),
            phone: Some("+86 186 2077 9034".into()),
            address: "Room 3905, West Tower, R&F Yingxin Building, 28 Huaxia Road, Zhujiang New Town, Tianhe District, Guangzhou".into(),
        },
    }
}

fn appliance(lang: Lang) -> Appliance {
    Appliance {
        product: match lang {
            Lang::ZhCn => "反渗透净水器".into(),
            Lang::En => "Reverse-osmosis water purifier".into(),
        },
        model: "AQ-RO-600G".into(),
        serial: Some("AQ6002311080457".into()),
        purchase_date: Some(day(2024, 11, 8)),
    }
}

fn items(lang: Lang) -> Vec<LineItem> {
    let zh = lang == Lang::ZhCn;
    let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
    vec![
        LineItem {
            code: "RELOCATE_MAINT".into(),
            description: pick(
                "移机并保养（厨房改造后重新安装）",
                "Relocate and maintain (reinstalled after kitchen refit)",
            ),
            quantity: 1,
            unit_price_fen: 5000,
            cover: Cover::Charged,
            reason: pick(
                "客户要求移机，不属保修范围",
                "Relocation at the customer's request is not warranty work",
            ),
        },
        LineItem {
            code: "REPLACE".into(),
            description: pick("更换滤芯服务费", "Filter replacement, labour"),
            quantity: 2,
            unit_price_fen: 2000,
            cover: Cover::Charged,
            reason: pick(
                "耗材更换，按收费标准",
                "Consumable replacement, per fee table",
            ),
        },
        LineItem {
            code: "PP-10".into(),
            description: pick("PP棉滤芯 10英寸", "PP sediment filter, 10 inch"),
            quantity: 1,
            unit_price_fen: 4500,
            cover: Cover::Charged,
            reason: pick(
                "滤芯为耗材，不在保修范围",
                "Filters are consumables, never covered",
            ),
        },
        LineItem {
            code: "CTO-10".into(),
            description: pick("活性炭滤芯 10英寸", "Carbon block filter, 10 inch"),
            quantity: 1,
            unit_price_fen: 6800,
            cover: Cover::Charged,
            reason: pick(
                "滤芯为耗材，不在保修范围",
                "Filters are consumables, never covered",
            ),
        },
        LineItem {
            code: "RO-600".into(),
            description: pick("RO反渗透膜 600G", "RO membrane 600G"),
            quantity: 1,
            unit_price_fen: 38000,
            cover: Cover::Warranty,
            reason: pick(
                "在保修期内（购买未满12个月），旧件已回收",
                "Within the 12-month warranty; old part taken back",
            ),
        },
    ]
}

fn hundred_items(lang: Lang) -> Vec<LineItem> {
    let zh = lang == Lang::ZhCn;
    (0..100)
        .map(|i| {
            let building = i / 20 + 1;
            let flat = 100 * (i % 20 / 4 + 8) + i % 4 + 1;
            let covered = i % 3 != 0;
            let cover = if covered {
                Cover::Contract
            } else {
                Cover::Charged
            };
            LineItem {
                code: if i % 5 == 4 {
                    "PP-10".into()
                } else {
                    "MAINT".into()
                },
                description: match (zh, i % 5 == 4) {
                    (true, false) => format!("{building}号楼{flat}室 净水器年度保养"),
                    (true, true) => format!("{building}号楼{flat}室 更换PP棉滤芯"),
                    (false, false) => {
                        format!("Building {building}, flat {flat}: annual purifier service")
                    }
                    (false, true) => {
                        format!("Building {building}, flat {flat}: PP filter replaced")
                    }
                },
                quantity: 1,
                unit_price_fen: if i % 5 == 4 { 4500 } else { 3000 },
                cover,
                reason: match (covered, zh) {
                    (true, true) => "物业维保合同HT-2025-017".into(),
                    (true, false) => "Covered by maintenance contract HT-2025-017".into(),
                    (false, true) => "合同外业主自费".into(),
                    (false, false) => "Outside the contract, paid by the owner".into(),
                },
            }
        })
        .collect()
}

fn signature(name: &str, signed_at: &str) -> Signature {
    Signature {
        png: signature_png(name),
        signer: name.into(),
        signed_at: at(signed_at),
    }
}

fn technician(lang: Lang) -> String {
    match lang {
        Lang::ZhCn => "李强（工号 T0217）".into(),
        Lang::En => "Li Qiang (T0217)".into(),
    }
}

/// A sign-off sheet with a signature.
pub fn sign_off(lang: Lang) -> SignOffInput {
    let zh = lang == Lang::ZhCn;
    let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
    let c = customer(lang);
    SignOffInput {
        lang,
        company: company(lang),
        work_order_no: "WO-20250614-0172".into(),
        issued_at: at("2025-06-14T16:42:10+08:00"),
        visit_date: day(2025, 6, 14),
        appliance: appliance(lang),
        fault_reported: pick("出水量明显变小，制水时有异响，厨房改造后需要移机。", "Water flow has dropped a lot and the unit is noisy while filtering; it has to move after a kitchen refit."),
        fault_found: pick("PP棉及活性炭滤芯严重堵塞；RO膜脱盐率降至82%（出厂≥95%），属膜片质量问题。", "PP and carbon filters badly clogged; RO membrane rejection down to 82% (factory ≥95%), a membrane defect."),
        diagnosis_notes: pick("进水压力0.25MPa，正常；原水TDS 210。", "Inlet pressure 0.25 MPa, normal; feed water TDS 210."),
        work_done: pick("拆机移至新橱柜下方并重新接管；更换PP棉、活性炭滤芯及RO膜；冲洗管路并检测，TDS由210降至12，试机30分钟无渗漏。", "Moved the unit under the new cabinet and re-plumbed it; replaced PP and carbon filters and the RO membrane; flushed the lines, TDS down from 210 to 12, 30-minute leak test passed."),
        items: items(lang),
        fee_table_version: "FT-2025.04 (2025-04-01)".into(),
        payment: Payment {
            paid_fen: 10000,
            method: Some(PayMethod::WeChatPay),
            invoice_to_follow: false,
        },
        signature: CustomerSignature::Signed(signature(&c.name, "2025-06-14T16:40:27+08:00")),
        customer: c,
        technician: technician(lang),
        content_hash: crate::sha256_hex(format!("canonical job WO-20250614-0172 {lang:?}")),
    }
}

/// A sign-off sheet with 100 line items (contract maintenance of a housing estate).
pub fn sign_off_100_lines(lang: Lang) -> SignOffInput {
    let mut s = sign_off(lang);
    s.work_order_no = "WO-20250615-0003".into();
    s.customer = second_customer(lang);
    s.items = hundred_items(lang);
    s.payment = Payment {
        paid_fen: 0,
        method: None,
        invoice_to_follow: true,
    };
    if let CustomerSignature::Signed(sig) = &mut s.signature {
        sig.signer = s.customer.name.clone();
        sig.png = signature_png(&s.customer.name);
    }
    s.content_hash = crate::sha256_hex(format!("canonical job WO-20250615-0003 {lang:?}"));
    s
}

/// A quote, accepted (`accepted = true`) or still awaiting the customer.
pub fn quote(lang: Lang, accepted: bool) -> QuoteInput {
    let s = sign_off(lang);
    let name = s.customer.name.clone();
    QuoteInput {
        lang,
        company: s.company,
        quote_no: "QT-20250614-0172".into(),
        work_order_no: s.work_order_no,
        issued_at: at("2025-06-14T14:55:00+08:00"),
        customer: s.customer,
        appliance: s.appliance,
        fault_found: s.fault_found,
        items: s.items,
        fee_table_version: s.fee_table_version,
        valid_until: day(2025, 6, 28),
        acceptance: accepted
            .then(|| Acceptance::Signed(signature(&name, "2025-06-14T15:02:41+08:00"))),
        technician: s.technician,
    }
}

/// A cash payment with change.
pub fn payment_receipt(lang: Lang, paper: Paper) -> PaymentReceiptInput {
    PaymentReceiptInput {
        lang,
        paper,
        company: company(lang),
        receipt_no: "RC-20250614-0088".into(),
        work_order_no: "WO-20250614-0172".into(),
        issued_at: at("2025-06-14T16:45:30+08:00"),
        customer_name: customer(lang).name,
        description: match lang {
            Lang::ZhCn => "净水器移机保养及更换滤芯（工单 WO-20250614-0172 余款）".into(),
            Lang::En => {
                "Purifier relocation, service and filters (balance of WO-20250614-0172)".into()
            }
        },
        job_total_fen: 20300,
        previously_paid_fen: 10000,
        amount_fen: 10300,
        method: PayMethod::Cash,
        tendered_fen: Some(20000),
        technician: technician(lang),
    }
}

/// A carry-back of a water heater to the workshop.
pub fn carry_back(lang: Lang, paper: Paper) -> CarryBackInput {
    let zh = lang == Lang::ZhCn;
    let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
    let c = second_customer(lang);
    CarryBackInput {
        lang,
        paper,
        company: company(lang),
        receipt_no: "CB-20250614-0009".into(),
        work_order_no: "WO-20250614-0175".into(),
        issued_at: at("2025-06-14T18:20:00+08:00"),
        appliance: Appliance {
            product: pick("即热式电热水器", "Instant electric water heater"),
            model: "RS-8500T".into(),
            serial: Some("RS85T2407150921".into()),
            purchase_date: Some(day(2024, 7, 15)),
        },
        accessories: vec![
            pick("遥控器", "Remote control"),
            pick("花洒软管1.5米", "1.5 m shower hose"),
            pick("挂墙支架", "Wall bracket"),
            pick("原装包装盒", "Original box"),
        ],
        condition: pick("外壳左侧有约3厘米划痕，显示屏右下角轻微磨损，其余完好。", "A scratch of about 3 cm on the left of the casing, light wear at the bottom right of the display, otherwise sound."),
        fault: pick("通电后显示E3（加热管干烧保护），不出热水；现场无法修复，需返厂检测更换加热组件。", "Shows E3 (dry-fire protection) on power-up and gives no hot water; cannot be fixed on site, the heating assembly must be tested and replaced at the workshop."),
        expected_return: day(2025, 6, 21),
        signature: signature(&c.name, "2025-06-14T18:18:05+08:00"),
        customer: c,
        technician: technician(lang),
    }
}

/// A day with seven jobs, parts, money by method, open carry-backs and expenses.
pub fn day_end(lang: Lang) -> DayEndInput {
    let zh = lang == Lang::ZhCn;
    let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
    let job = |no: &str, who: String, what: String, outcome, fen| DayJob {
        work_order_no: no.into(),
        customer_name: who,
        summary: what,
        outcome,
        charged_fen: fen,
    };
    let part = |no: &str, what: String, qty, serial: Option<&str>, wo: &str| PartMovement {
        part_no: no.into(),
        description: what,
        quantity: qty,
        serial: serial.map(Into::into),
        work_order_no: Some(wo.into()),
    };
    DayEndInput {
        lang,
        company: company(lang),
        technician: technician(lang),
        date: day(2025, 6, 14),
        issued_at: at("2025-06-14T19:30:00+08:00"),
        jobs: vec![
            job(
                "WO-20250614-0170",
                pick("张建国", "Zhang Jianguo"),
                pick("净水器首次安装", "First installation of a purifier"),
                JobOutcome::Completed,
                0,
            ),
            job(
                "WO-20250614-0171",
                pick("刘芳", "Liu Fang"),
                pick("年度保养，更换PP棉", "Annual service, PP filter"),
                JobOutcome::Completed,
                7500,
            ),
            job(
                "WO-20250614-0172",
                customer(lang).name,
                pick(
                    "移机保养，更换滤芯及RO膜（保修）",
                    "Relocation and service, filters, RO membrane under warranty",
                ),
                JobOutcome::Completed,
                20300,
            ),
            job(
                "WO-20250614-0173",
                pick("陈喆", "Chen Zhe"),
                pick("漏水检查，紧固接头", "Leak check, fittings tightened"),
                JobOutcome::Completed,
                3000,
            ),
            job(
                "WO-20250614-0174",
                pick("赵堃", "Zhao Kun"),
                pick("客户不在家，已改约", "Customer absent, rebooked"),
                JobOutcome::NotCompleted,
                0,
            ),
            job(
                "WO-20250614-0175",
                second_customer(lang).name,
                pick(
                    "热水器E3故障，带回检测",
                    "Water heater E3 fault, carried back",
                ),
                JobOutcome::CarriedBack,
                0,
            ),
            job(
                "WO-20250614-0176",
                pick("孙祎", "Sun Yi"),
                pick("移机并重新安装", "Relocate and reinstall"),
                JobOutcome::Completed,
                4000,
            ),
        ],
        parts_used: vec![
            part(
                "PP-10",
                pick("PP棉滤芯 10英寸", "PP sediment filter, 10 inch"),
                2,
                None,
                "WO-20250614-0171",
            ),
            part(
                "CTO-10",
                pick("活性炭滤芯 10英寸", "Carbon block filter, 10 inch"),
                1,
                None,
                "WO-20250614-0172",
            ),
            part(
                "RO-600",
                pick("RO反渗透膜 600G", "RO membrane 600G"),
                1,
                Some("ROM600-250311-0457"),
                "WO-20250614-0172",
            ),
            part(
                "FIT-6",
                pick("快接头 6分", "Quick fitting 3/4\""),
                3,
                None,
                "WO-20250614-0173",
            ),
        ],
        parts_returned: vec![
            part(
                "RO-600",
                pick(
                    "RO膜旧件（保修件回收）",
                    "Old RO membrane (warranty part returned)",
                ),
                1,
                Some("ROM600-231108-2210"),
                "WO-20250614-0172",
            ),
            part(
                "PP-10",
                pick("未使用，退回库房", "Unused, back to stock"),
                1,
                None,
                "WO-20250614-0171",
            ),
        ],
        payments: vec![
            DayPayment {
                work_order_no: "WO-20250614-0171".into(),
                method: PayMethod::WeChatPay,
                amount_fen: 7500,
            },
            DayPayment {
                work_order_no: "WO-20250614-0172".into(),
                method: PayMethod::WeChatPay,
                amount_fen: 10000,
            },
            DayPayment {
                work_order_no: "WO-20250614-0172".into(),
                method: PayMethod::Cash,
                amount_fen: 10300,
            },
            DayPayment {
                work_order_no: "WO-20250614-0173".into(),
                method: PayMethod::Alipay,
                amount_fen: 3000,
            },
            DayPayment {
                work_order_no: "WO-20250614-0176".into(),
                method: PayMethod::Cash,
                amount_fen: 4000,
            },
        ],
        carry_backs_open: vec![
            OpenCarryBack {
                receipt_no: "CB-20250614-0009".into(),
                customer_name: second_customer(lang).name,
                appliance: pick("即热式电热水器 RS-8500T", "Instant water heater RS-8500T"),
                taken_on: day(2025, 6, 14),
                expected_return: day(2025, 6, 21),
            },
            OpenCarryBack {
                receipt_no: "CB-20250602-0004".into(),
                customer_name: pick("周彧", "Zhou Yu"),
                appliance: pick("壁挂式净水器 AQ-W200", "Wall-mounted purifier AQ-W200"),
                taken_on: day(2025, 6, 2),
                expected_return: day(2025, 6, 12),
            },
        ],
        expenses: vec![
            Expense {
                kind: ExpenseKind::Meals,
                description: pick("午餐 1人", "Lunch, 1 person"),
                amount_fen: 3000,
            },
            Expense {
                kind: ExpenseKind::Mileage,
                description: pick("自驾 86 公里 × 1元", "Own car, 86 km × ¥1"),
                amount_fen: 8600,
            },
            Expense {
                kind: ExpenseKind::Other,
                description: pick("小区停车费", "Estate parking fee"),
                amount_fen: 1500,
            },
        ],
    }
}

/// Renders every sample document into `dir` (created if missing) and returns the
/// paths written.
pub fn render_all(dir: &Path) -> Result<Vec<PathBuf>, DocsError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| DocsError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    for lang in [Lang::ZhCn, Lang::En] {
        let tag = match lang {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        };
        let mut docs: Vec<(String, Vec<u8>)> = vec![
            (
                format!("sign-off_{tag}_A4.pdf"),
                crate::render_sign_off(&sign_off(lang))?,
            ),
            (
                format!("sign-off-100-lines_{tag}_A4.pdf"),
                crate::render_sign_off(&sign_off_100_lines(lang))?,
            ),
            (
                format!("quote_{tag}_A4.pdf"),
                crate::render_quote(&quote(lang, true))?,
            ),
            (
                format!("quote-awaiting-acceptance_{tag}_A4.pdf"),
                crate::render_quote(&quote(lang, false))?,
            ),
            (
                format!("day-end_{tag}_A4.pdf"),
                crate::render_day_end(&day_end(lang))?,
            ),
        ];
        for (paper, ptag) in [(Paper::A4, "A4"), (Paper::Roll80, "80mm")] {
            docs.push((
                format!("payment-receipt_{tag}_{ptag}.pdf"),
                crate::render_payment_receipt(&payment_receipt(lang, paper))?,
            ));
            docs.push((
                format!("carry-back_{tag}_{ptag}.pdf"),
                crate::render_carry_back(&carry_back(lang, paper))?,
            ));
        }
        for (name, bytes) in docs {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(io(&path))?;
            written.push(path);
        }
    }
    Ok(written)
}

// ---- Images made on the fly, so the samples need no files ----

fn encode_rgba(w: u32, h: u32, px: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut wr) = enc.write_header() {
            let _ = wr.write_image_data(px);
        }
    }
    out
}

/// A handwritten-looking signature: ink strokes on a transparent background, shaped by
/// the name so different signers differ. 600 × 200 px, like a signature pad's export.
pub fn signature_png(name: &str) -> Vec<u8> {
    let (w, h) = (600usize, 200usize);
    let mut alpha = vec![0f32; w * h];
    let seed: u32 = name
        .chars()
        .fold(7u32, |a, c| a.wrapping_mul(31).wrapping_add(c as u32));
    let f = |k: u32| ((seed >> k) & 7) as f32;
    let loops = 3.0 + f(0) / 2.0;
    let mut dab = |x: f32, y: f32, r: f32| {
        let (x0, x1) = (
            (x - r - 1.0).max(0.0) as usize,
            ((x + r + 1.0) as usize).min(w - 1),
        );
        let (y0, y1) = (
            (y - r - 1.0).max(0.0) as usize,
            ((y + r + 1.0) as usize).min(h - 1),
        );
        for py in y0..=y1 {
            for px in x0..=x1 {
                let d = ((px as f32 - x).powi(2) + (py as f32 - y).powi(2)).sqrt();
                let a = (r + 0.5 - d).clamp(0.0, 1.0);
                let slot = &mut alpha[py * w + px];
                *slot = slot.max(a);
            }
        }
    };
    let steps = 2400;
    for i in 0..steps {
        let t = i as f32 / steps as f32;
        let tau = std::f32::consts::TAU;
        // A slanted run of cursive loops over a slow wave.
        let phase = tau * (loops + 2.0) * t;
        let x = 50.0 + 470.0 * t + 30.0 * phase.cos() - 14.0 * phase.sin();
        let y = 100.0 - 30.0 * (tau * (1.0 + f(3) / 8.0) * t).sin()
            + 42.0 * phase.sin() * (0.6 + 0.4 * (tau * 1.5 * t).cos())
            + 6.0 * (tau * (9.0 + f(6)) * t).sin();
        let r = 2.0 + 1.4 * (phase * 0.5).sin().abs();
        dab(x, y, r);
    }
    // The underline flourish.
    for i in 0..600 {
        let t = i as f32 / 600.0;
        dab(70.0 + 430.0 * t, 170.0 - 14.0 * (t * 3.0).sin(), 1.8);
    }
    let mut px = vec![0u8; w * h * 4];
    for (i, a) in alpha.iter().enumerate() {
        px[i * 4..i * 4 + 4].copy_from_slice(&[16, 24, 64, (a * 255.0).round() as u8]);
    }
    encode_rgba(w as u32, h as u32, &px)
}

/// The sample company logo: a blue roundel with a white ring and bar.
pub fn logo_png() -> Vec<u8> {
    let n = 160usize;
    let mut px = vec![0u8; n * n * 4];
    let c = n as f32 / 2.0;
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f32 + 0.5 - c, y as f32 + 0.5 - c);
            let d = (dx * dx + dy * dy).sqrt();
            let disc = (c - d).clamp(0.0, 1.0);
            let ring = ((12.0 - (d - 44.0).abs()).clamp(0.0, 1.0))
                * f32::from(dx > -6.0 || dy.abs() > 14.0);
            let bar = f32::from(dx.abs() < 9.0 && dy > -10.0 && dy < 62.0) * f32::from(d < c - 4.0);
            let white = ring.max(bar);
            let o = (y * n + x) * 4;
            let blue = [22.0, 94.0, 168.0];
            for k in 0..3 {
                px[o + k] = (blue[k] * (1.0 - white) + 255.0 * white) as u8;
            }
            px[o + 3] = (disc * 255.0) as u8;
        }
    }
    encode_rgba(n as u32, n as u32, &px)
}
