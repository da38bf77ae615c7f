//! Secrets: device tokens, enrolment codes and the admin token. Only SHA-256 hashes of
//! device tokens and enrolment codes are stored.

/// Lowercase hex of the SHA-256 of `bytes`: onsite-domain's, the one definition.
pub use onsite_domain::signoff::sha256_hex;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The operating system's generator failing is not something a server can go on from.
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

/// A new bearer token: `onsite_` and 64 hex digits (256 random bits).
pub fn new_token() -> String {
    let bytes: [u8; 32] = random_bytes();
    let mut out = String::from("onsite_");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The hash stored for a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Crockford's base 32 alphabet: no I, L, O, U, so codes read aloud or typed go right.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new one-time enrolment code: 12 characters (60 random bits) as `XXXX-XXXX-XXXX`.
pub fn new_enrolment_code() -> String {
    let bytes: [u8; 12] = random_bytes();
    let mut out = String::with_capacity(14);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(CODE_ALPHABET[usize::from(b & 31)] as char);
    }
    out
}

/// The canonical form of a typed code: upper case, without spaces and dashes, with the
/// look-alikes Crockford allows (O→0, I/L→1).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// The hash stored for an enrolment code.
pub fn code_hash(code: &str) -> String {
    sha256_hex(normalise_code(code).as_bytes())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn tokens_are_distinct_and_well_formed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 7 + 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn codes_normalise_for_typing() {
        let c = new_enrolment_code();
        assert_eq!(c.len(), 14);
        assert_eq!(
            code_hash(&c),
            code_hash(&c.to_lowercase().replace('-', " "))
        );
        assert_eq!(normalise_code("ab-o1 l"), "AB011");
        assert_ne!(code_hash("AAAA-AAAA-AAAA"), code_hash("AAAA-AAAA-AAAB"));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
