//! Rendering properties that need no external tool: determinism, size, errors.

use onsite_docs::samples;
use onsite_docs::*;

#[test]
fn same_input_gives_byte_identical_output() {
    let input = samples::sign_off(Lang::ZhCn);
    let a = render_sign_off(&input).unwrap();
    // Other documents in between move printpdf's internal id counter.
    render_quote(&samples::quote(Lang::En, true)).unwrap();
    render_day_end(&samples::day_end(Lang::ZhCn)).unwrap();
    let b = render_sign_off(&input).unwrap();
    assert_eq!(sha256_hex(&a), sha256_hex(&b));
    assert!(a == b);

    let r = samples::payment_receipt(Lang::En, Paper::Roll80);
    assert_eq!(
        render_payment_receipt(&r).unwrap(),
        render_payment_receipt(&r).unwrap()
    );
    let c = samples::carry_back(Lang::ZhCn, Paper::Roll80);
    assert_eq!(
        render_carry_back(&c).unwrap(),
        render_carry_back(&c).unwrap()
    );

    // And it depends on the input: another creation date gives another file.
    let mut later = input.clone();
    later.issued_at += chrono::Duration::minutes(1);
    assert_ne!(render_sign_off(&later).unwrap(), a);
}

#[test]
fn sign_off_with_signature_is_under_150_kb() {
    for lang in [Lang::ZhCn, Lang::En] {
        let input = samples::sign_off(lang);
        assert!(matches!(input.signature, CustomerSignature::Signed(_)));
        let pdf = render_sign_off(&input).unwrap();
        assert!(pdf.len() < 150 * 1024, "{lang:?}: {} bytes", pdf.len());
        // The whole font would be ~6 MB; a subset of a page of text is far smaller.
        let big = render_sign_off(&samples::sign_off_100_lines(lang)).unwrap();
        assert!(
            big.len() < 150 * 1024,
            "{lang:?} 100 lines: {} bytes",
            big.len()
        );
    }
}

#[test]
fn the_pdf_carries_the_signature_image_with_its_transparency() {
    let pdf = render_sign_off(&samples::sign_off(Lang::En)).unwrap();
    let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"/Subtype/Image"));
    assert!(has(b"/SMask"));
}

#[test]
fn a_bad_content_hash_is_refused() {
    let mut input = samples::sign_off(Lang::En);
    input.content_hash = "not-a-hash".into();
    assert!(matches!(
        render_sign_off(&input),
        Err(DocsError::Invalid(_))
    ));
    input.content_hash = "g".repeat(64);
    assert!(matches!(
        render_sign_off(&input),
        Err(DocsError::Invalid(_))
    ));
}

#[test]
fn errors_carry_no_customer_data() {
    let mut input = samples::sign_off(Lang::En);
    let name = input.customer.name.clone();
    if let CustomerSignature::Signed(sig) = &mut input.signature {
        sig.png = name.as_bytes().to_vec();
    }
    let err = render_sign_off(&input).unwrap_err();
    assert!(
        matches!(
            err,
            DocsError::Image {
                what: "signature",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(!msg.contains(&name) && !msg.contains("Margaret"), "{msg}");
}

#[test]
fn receipts_refuse_impossible_amounts() {
    let mut r = samples::payment_receipt(Lang::ZhCn, Paper::A4);
    r.tendered_fen = Some(r.amount_fen - 1);
    assert!(matches!(
        render_payment_receipt(&r),
        Err(DocsError::Invalid(_))
    ));
    r.tendered_fen = None;
    r.amount_fen = 0;
    assert!(matches!(
        render_payment_receipt(&r),
        Err(DocsError::Invalid(_))
    ));

    let mut s = samples::sign_off(Lang::ZhCn);
    s.items[0].unit_price_fen = i64::MAX;
    s.items[0].quantity = 2;
    assert!(matches!(
        render_sign_off(&s),
        Err(DocsError::AmountOverflow(_))
    ));
}

#[test]
fn a_visit_without_signature_has_no_signature_image() {
    let mut s = samples::sign_off(Lang::En);
    s.company.logo_png = None;
    let with = render_sign_off(&s).unwrap();
    s.signature = CustomerSignature::NotSigned {
        reason: "Customer absent; neighbour let us in".into(),
    };
    let without = render_sign_off(&s).unwrap();
    let needle = b"/Subtype/Image";
    let has_image = |pdf: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(has_image(&with));
    assert!(!has_image(&without));
}

#[test]
fn sha256_hex_is_the_digest_of_the_bytes() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
