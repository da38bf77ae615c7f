//! Every fixed text of the documents, in both languages, plus the formatting of money,
//! dates and the few sentences that take values.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

use crate::model::{ExpenseKind, JobOutcome, Lang, PayMethod};

/// One label in Simplified Chinese and English.
#[derive(Debug, Clone, Copy)]
pub(crate) struct L {
    pub(crate) zh: &'static str,
    pub(crate) en: &'static str,
}

impl L {
    pub(crate) fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::ZhCn => self.zh,
            Lang::En => self.en,
        }
    }
}

macro_rules! labels {
    ($($name:ident = $zh:literal, $en:literal;)*) => {
        $(pub(crate) const $name: L = L { zh: $zh, en: $en };)*
        #[cfg(test)]
        pub(crate) const ALL: &[L] = &[$($name),*];
    };
}

labels! {
    // Titles
    SIGN_OFF_TITLE = "维修服务签收单", "Service sign-off sheet";
    QUOTE_TITLE = "服务报价单", "Service quote";
    PAYMENT_TITLE = "收款收据", "Payment receipt";
    CARRY_BACK_TITLE = "设备带回收据", "Carry-back receipt";
    DAY_END_TITLE = "日结汇总", "Day-end summary";
    // Header and parties
    PHONE = "电话", "Tel";
    WORK_ORDER_NO = "工单号", "Work order";
    QUOTE_NO = "报价单号", "Quote no.";
    RECEIPT_NO = "收据号", "Receipt no.";
    CUSTOMER = "客户", "Customer";
    CUSTOMER_PHONE = "联系电话", "Phone";
    ADDRESS = "地址", "Address";
    VISIT_DATE = "服务日期", "Visit date";
    ISSUED_AT = "开具时间", "Issued";
    APPLIANCE = "产品", "Appliance";
    MODEL = "型号", "Model";
    SERIAL = "序列号", "Serial no.";
    PURCHASE_DATE = "购买日期", "Purchase date";
    TECHNICIAN = "服务技师", "Technician";
    // Job
    SECTION_FAULT = "故障与处理", "Fault and work done";
    SECTION_CUSTOMER = "客户与产品", "Customer and appliance";
    FAULT_REPORTED = "报修故障", "Fault reported";
    FAULT_FOUND = "检查结果", "Fault found";
    WORK_DONE = "处理内容", "Work done";
    DIAGNOSIS_NOTES = "检查备注", "Diagnosis notes";
    SECTION_CHARGES = "费用明细", "Charges";
    FEE_TABLE = "收费标准版本", "Fee table version";
    COL_NO = "序", "#";
    COL_ITEM = "项目", "Item";
    COL_QTY = "数量", "Qty";
    COL_UNIT = "单价", "Unit price";
    COL_COVERAGE = "保修/合同/收费及原因", "Warranty/contract/charged, reason";
    COL_AMOUNT = "金额", "Amount";
    COVER_WARRANTY = "保修", "Warranty";
    COVER_CONTRACT = "合同", "Contract";
    CHARGED = "收费", "Charged";
    TOTAL_VALUE = "项目合计", "Total of items";
    TOTAL_COVERED = "保修/合同减免", "Covered (warranty/contract)";
    TOTAL_CHARGED = "应收金额", "Amount charged";
    PAID = "已付", "Paid";
    BALANCE = "未付余额", "Balance outstanding";
    PAYMENT_STATUS = "付款状态", "Payment status";
    STATUS_NO_CHARGE = "无需付费", "No charge";
    STATUS_PAID = "已付清", "Paid in full";
    STATUS_PART_PAID = "部分已付", "Part paid";
    STATUS_UNPAID = "未付", "Unpaid";
    STATUS_INVOICE = "发票随后寄出，余款后收", "Invoice to follow, balance collected later";
    NO_ITEMS = "无收费项目", "No chargeable items";
    // Signature
    SECTION_SIGNATURE = "客户签名", "Customer signature";
    SIGN_OFF_DECLARATION = "本人确认上述服务已完成，费用明细无误。", "I confirm that the work above has been done and the charges are correct.";
    SIGNED_BY = "签名人", "Signed by";
    SIGNED_AT = "签名时间", "Signed at";
    NOT_SIGNED = "客户未签名", "Not signed by the customer";
    REASON = "原因", "Reason";
    CONTENT_HASH = "内容校验 SHA-256", "Content SHA-256";
    OMITTED_NOTE = "[…] 处为无法打印的符号（如表情符号），已省略；系统中保存原文。", "[…] marks symbols that cannot be printed (such as emoji), left out here; Onsite keeps the text as typed.";
    // Quote
    SECTION_DIAGNOSIS = "检查结果", "Diagnosis";
    QUOTE_TOTAL = "报价应付金额", "Amount payable";
    QUOTE_NOTE = "以上费用在施工前向客户公示，经客户同意后方可施工。", "These charges are shown before any work starts; work starts only with your agreement.";
    VALID_UNTIL = "报价有效期至", "Valid until";
    SECTION_ACCEPTANCE = "客户确认", "Customer acceptance";
    ACCEPTED = "客户已接受本报价", "The customer accepted this quote";
    AWAITING_ACCEPTANCE = "待客户确认（请在此签名）", "Awaiting the customer's acceptance (sign here)";
    DATE = "日期", "Date";
    // Payment receipt
    RECEIVED_FROM = "付款人", "Received from";
    PAYMENT_FOR = "收款事由", "For";
    AMOUNT_RECEIVED = "本次收款", "Amount received";
    METHOD = "付款方式", "Method";
    TENDERED = "实收现金", "Cash tendered";
    CHANGE = "找零", "Change";
    JOB_TOTAL = "工单应收", "Job total";
    PREVIOUSLY_PAID = "此前已付", "Paid before";
    OUTSTANDING = "尚欠余额", "Outstanding balance";
    RECEIVED_BY = "收款人", "Received by";
    THANKS = "感谢您的信任！", "Thank you.";
    // Carry-back
    TAKEN_AT = "带回时间", "Taken";
    ACCESSORIES = "随机附件", "Accessories taken";
    CONDITION = "外观状况", "Visible condition";
    FAULT = "故障描述", "Fault";
    EXPECTED_RETURN = "预计送回日期", "Expected return";
    PRESENT_RECEIPT = "取回设备时请出示本收据。", "Present this receipt when the appliance is returned.";
    NONE = "无", "None";
    // Day-end
    DATE_OF = "日期", "Date";
    SECTION_JOBS = "完成工单", "Jobs";
    SECTION_PARTS_USED = "使用配件", "Parts used";
    SECTION_PARTS_RETURNED = "退回配件（未用件及旧件）", "Parts returned (unused and old parts)";
    SECTION_MONEY = "收款（按方式）", "Money taken, by method";
    SECTION_CARRY_BACKS = "未结带回设备", "Carry-backs open";
    SECTION_EXPENSES = "费用报销", "Expenses";
    COL_WO = "工单", "Work order";
    COL_SUMMARY = "内容", "Summary";
    COL_OUTCOME = "结果", "Outcome";
    COL_PART = "配件号", "Part no.";
    COL_DESCRIPTION = "名称", "Description";
    COL_COUNT = "笔数", "Count";
    COL_METHOD = "方式", "Method";
    COL_TAKEN = "带回日期", "Taken";
    COL_TYPE = "类别", "Type";
    TOTAL = "合计", "Total";
    JOBS_DONE = "工单数", "Jobs";
    MONEY_TOTAL = "收款合计", "Money taken";
    EXPENSES_TOTAL = "费用合计", "Expenses";
    OVERDUE = "已逾期", "overdue";
    OUTCOME_COMPLETED = "已完成", "Completed";
    OUTCOME_CARRIED_BACK = "已带回", "Carried back";
    OUTCOME_NOT_COMPLETED = "未完成", "Not completed";
    METHOD_CASH = "现金", "Cash";
    METHOD_WECHAT = "微信支付", "WeChat Pay";
    METHOD_ALIPAY = "支付宝", "Alipay";
    METHOD_CARD = "银行卡", "Bank card";
    METHOD_TRANSFER = "银行转账", "Bank transfer";
    EXPENSE_MEALS = "餐费", "Meals";
    EXPENSE_LODGING = "住宿", "Lodging";
    EXPENSE_MILEAGE = "自驾里程", "Mileage";
    EXPENSE_OTHER = "其他", "Other";
}

/// "Page 1 of 3" / "第1页，共3页".
pub(crate) fn page_of(lang: Lang, page: usize, pages: usize) -> String {
    match lang {
        Lang::ZhCn => format!("第{page}页，共{pages}页"),
        Lang::En => format!("Page {page} of {pages}"),
    }
}

/// The separator after a label: full-width colon in Chinese.
pub(crate) fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::ZhCn => "：",
        Lang::En => ": ",
    }
}

/// Joins a list in the customer's language.
pub(crate) fn join(lang: Lang, items: &[String]) -> String {
    match lang {
        Lang::ZhCn => items.join("、"),
        Lang::En => items.join(", "),
    }
}

/// Fen as yuan: ¥1,234.56, -¥0.50.
pub(crate) fn money(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let yuan = (abs / 100).to_string();
    let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3);
    for (i, c) in yuan.chars().enumerate() {
        if i > 0 && (yuan.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{:02}", abs % 100)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub(crate) fn date(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::ZhCn => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Lang::En => format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year()),
    }
}

/// Local date and time as recorded (the offset it was recorded in).
pub(crate) fn date_time(lang: Lang, t: DateTime<FixedOffset>) -> String {
    format!(
        "{} {:02}:{:02}",
        date(lang, t.date_naive()),
        t.hour(),
        t.minute()
    )
}

pub(crate) fn pay_method(lang: Lang, m: &PayMethod) -> String {
    let l = match m {
        PayMethod::Cash => METHOD_CASH,
        PayMethod::WeChatPay => METHOD_WECHAT,
        PayMethod::Alipay => METHOD_ALIPAY,
        PayMethod::BankCard => METHOD_CARD,
        PayMethod::BankTransfer => METHOD_TRANSFER,
        PayMethod::Other(s) => return s.clone(),
    };
    l.get(lang).to_string()
}

pub(crate) fn outcome(lang: Lang, o: JobOutcome) -> &'static str {
    match o {
        JobOutcome::Completed => OUTCOME_COMPLETED,
        JobOutcome::CarriedBack => OUTCOME_CARRIED_BACK,
        JobOutcome::NotCompleted => OUTCOME_NOT_COMPLETED,
    }
    .get(lang)
}

pub(crate) fn expense(lang: Lang, k: &ExpenseKind) -> &'static str {
    match k {
        ExpenseKind::Meals => EXPENSE_MEALS,
        ExpenseKind::Lodging => EXPENSE_LODGING,
        ExpenseKind::Mileage => EXPENSE_MILEAGE,
        ExpenseKind::Other => EXPENSE_OTHER,
    }
    .get(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_yuan_with_two_decimals() {
        assert_eq!(money(1234), "¥12.34");
        assert_eq!(money(0), "¥0.00");
        assert_eq!(money(5), "¥0.05");
        assert_eq!(money(-50), "-¥0.50");
        assert_eq!(money(123_456_789), "¥1,234,567.89");
        assert_eq!(money(100_000), "¥1,000.00");
        assert_eq!(money(i64::MIN), "-¥92,233,720,368,547,758.08");
    }

    #[test]
    fn dates_follow_the_language() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 7).unwrap();
        assert_eq!(date(Lang::ZhCn, d), "2025年3月7日");
        assert_eq!(date(Lang::En, d), "7 Mar 2025");
        let t = DateTime::parse_from_rfc3339("2025-03-07T09:05:00+08:00").unwrap();
        assert_eq!(date_time(Lang::ZhCn, t), "2025年3月7日 09:05");
        assert_eq!(page_of(Lang::ZhCn, 1, 3), "第1页，共3页");
        assert_eq!(page_of(Lang::En, 2, 3), "Page 2 of 3");
    }

    #[test]
    fn every_label_exists_in_both_languages_and_the_font_has_its_glyphs() {
        let m = crate::font::metrics().unwrap();
        for l in ALL {
            assert!(!l.zh.is_empty() && !l.en.is_empty());
            assert!(
                l.zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
                "{}",
                l.zh
            );
            assert!(l.en.is_ascii() || l.en.starts_with("[…]"), "{}", l.en);
            // Chinese labels use full-width punctuation.
            assert!(
                !l.zh.chars().any(|c| "?!,;:()".contains(c)),
                "half-width punctuation in {}",
                l.zh
            );
            for c in l.zh.chars().chain(l.en.chars()) {
                assert!(
                    m.glyph(c).is_some() || c == ' ',
                    "no glyph for {c:?} in {}",
                    l.zh
                );
            }
        }
    }
}
