//! How text goes into the search indexes and how a query comes out of them.
//!
//! SQLite's unicode61 tokenizer treats a run of Chinese characters as one word, so 王 is
//! not found in 王小明; the trigram tokenizer finds any substring but only of three or
//! more characters. We keep both (see migrations/0002_search.sql):
//! - terms of 3+ characters go to `search_tri` as a quoted substring;
//! - shorter terms go to `search_short`, whose text spells every CJK run out as its single
//!   characters and its adjacent pairs (王小明 → 王 小 明 王小 小明), so 王 and 王伟 are whole
//!   tokens; short Latin or digit terms are word prefixes there.
//!
//! Every term must match (AND).

/// Which index answers a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `search_tri MATCH <expr>`
    Trigram(String),
    /// `search_short MATCH <expr>`
    Short(String),
}

/// At most this many terms are used from one query.
pub const MAX_TERMS: usize = 6;

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The text stored in `search_short` for `body`.
pub fn short_index_text(body: &str) -> String {
    let mut out = String::with_capacity(body.len() * 3);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        for c in run.iter() {
            out.push(' ');
            out.push(*c);
        }
        for pair in run.windows(2) {
            out.push(' ');
            out.push(pair[0]);
            out.push(pair[1]);
        }
        out.push(' ');
        run.clear();
    };
    for c in body.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Digits alone, so that 138-1234-5678 is found by 13812345678 and by 1234 5678.
pub fn digits_only(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Splits a user's query into terms for the two indexes. Empty when there is nothing to
/// look for. A term made of digits and phone punctuation is reduced to its digits.
pub fn plan(query: &str) -> Vec<Term> {
    query
        .split_whitespace()
        .filter_map(|raw| {
            let phone_like = raw.chars().any(|c| c.is_ascii_digit())
                && raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || "-+()".contains(c));
            let term = if phone_like {
                digits_only(raw)
            } else {
                raw.trim_matches(|c: char| c.is_ascii_punctuation() && c != '-')
                    .to_string()
            };
            let len = term.chars().count();
            if len == 0 {
                None
            } else if len >= 3 {
                Some(Term::Trigram(quote(&term)))
            } else if term.chars().all(is_cjk) {
                Some(Term::Short(quote(&term)))
            } else {
                Some(Term::Short(format!("{}*", quote(&term))))
            }
        })
        .take(MAX_TERMS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_are_spelled_as_characters_and_pairs() {
        assert_eq!(short_index_text("王小明"), " 王 小 明 王小 小明 ");
        assert_eq!(short_index_text("Li 王伟, 138"), "Li  王 伟 王伟 , 138");
        assert_eq!(short_index_text("Smith"), "Smith");
    }

    #[test]
    fn plans_terms_by_length() {
        assert_eq!(plan("王"), vec![Term::Short("\"王\"".into())]);
        assert_eq!(plan("王伟"), vec![Term::Short("\"王伟\"".into())]);
        assert_eq!(plan("王小明"), vec![Term::Trigram("\"王小明\"".into())]);
        assert_eq!(plan("li"), vec![Term::Short("\"li\"*".into())]);
        assert_eq!(plan("Smith"), vec![Term::Trigram("\"Smith\"".into())]);
        assert_eq!(
            plan(" 138-1234  朝阳 "),
            vec![
                Term::Trigram("\"1381234\"".into()),
                Term::Short("\"朝阳\"".into())
            ]
        );
        assert_eq!(plan(""), vec![]);
        assert_eq!(plan("  ,, "), vec![]);
    }

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(
            plan("O\"Brien"),
            vec![Term::Trigram("\"O\"\"Brien\"".into())]
        );
    }

    #[test]
    fn query_length_is_bounded() {
        assert_eq!(plan(&"abc ".repeat(100)).len(), MAX_TERMS);
    }
}
