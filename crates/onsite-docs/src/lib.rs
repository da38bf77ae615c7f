//! Onsite's printed documents: input structs in, PDF bytes out.
//!
//! Five documents, each in the customer's language ([`Lang`]): the sign-off sheet
//! ([`render_sign_off`]), the quote ([`render_quote`]), the payment receipt
//! ([`render_payment_receipt`], A4 or 80 mm roll), the carry-back receipt
//! ([`render_carry_back`], A4 or 80 mm roll) and the day-end summary
//! ([`render_day_end`]).
//!
//! Rendering is pure: no clock, no file or network access. The font (Noto Sans CJK SC,
//! SIL OFL 1.1) is compiled in and subset per document; the same input always gives
//! the same bytes.

mod docs;
mod error;
mod font;
mod image;
mod labels;
mod layout;
mod model;
mod pdf;
pub mod samples;

pub use error::DocsError;
pub use model::*;

use sha2::{Digest, Sha256};

/// The sign-off sheet (A4): the job, its charges, the customer's signature and the
/// content hash it signs.
pub fn render_sign_off(input: &SignOffInput) -> Result<Vec<u8>, DocsError> {
    docs::signoff::render(input)
}

/// The quote (A4): the lines before the work, the fee-table version, validity and the
/// customer's acceptance when given.
pub fn render_quote(input: &QuoteInput) -> Result<Vec<u8>, DocsError> {
    docs::quote::render(input)
}

/// The payment receipt, on A4 or an 80 mm roll (`input.paper`).
pub fn render_payment_receipt(input: &PaymentReceiptInput) -> Result<Vec<u8>, DocsError> {
    docs::receipt::render(input)
}

/// The carry-back receipt, on A4 or an 80 mm roll (`input.paper`).
pub fn render_carry_back(input: &CarryBackInput) -> Result<Vec<u8>, DocsError> {
    docs::carryback::render(input)
}

/// The technician's day-end summary (A4).
pub fn render_day_end(input: &DayEndInput) -> Result<Vec<u8>, DocsError> {
    docs::dayend::render(input)
}

/// Lower-case hex SHA-256 of `bytes`, for storing documents content-addressed. The same as
/// `onsite_domain::signoff::sha256_hex` (the one definition the other crates re-export);
/// kept here because this crate does not depend on onsite-domain, and adding it would pull
/// ts-rs, uuid and serde_json into the PDF renderer for six lines. The known-vector test
/// below and onsite-domain's hold both to the same digest.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    let digest = Sha256::digest(bytes.as_ref());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex_matches_a_known_vector() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
