//! Pages of the head office's lists and exports (issue 12, limits; docs/hq-pagination.md).
//!
//! Every admin list and export takes `limit` and `cursor` in its query string. The body is
//! what it always was (a JSON array, or CSV), holding at most `limit` items; when more
//! follow, the answer says where the next page starts in two headers: `Link: <…>;
//! rel="next"` (RFC 8288, the same request with the cursor set) and `X-Next-Cursor`. The
//! cursor is opaque to clients: it names the last item of the page, so a page starts after
//! it even when items were added before it meanwhile (keyset, not offset).
//!
//! Work orders and completed-job exports are paged by the storage (a keyset query: only
//! one page is read); the other lists are short or folded in memory (carry-backs) and are
//! cut here from the whole list.

use axum::http::header::{HeaderName, HeaderValue, LINK};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 1_000;
/// The most items a page may ask for.
pub const MAX_LIMIT: usize = 10_000;
/// Jobs per page of the completed-jobs export when not given (each carries its facts).
pub const DEFAULT_EXPORT_LIMIT: usize = 500;
/// The most jobs an export page may ask for.
pub const MAX_EXPORT_LIMIT: usize = 2_000;

/// The header naming the next page's cursor (absent on the last page).
pub const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");

/// The admin lists and exports that are paged (their OpenAPI entries carry the parameters).
pub const PAGED: &[&str] = &[
    onsite_api::routes::ADMIN_TECHNICIANS,
    onsite_api::routes::ADMIN_DEVICES,
    onsite_api::routes::ADMIN_WORK_ORDERS,
    onsite_api::routes::ADMIN_FEE_TABLES,
    onsite_api::routes::ADMIN_PARTS_ISSUES,
    onsite_api::routes::ADMIN_REVIEW,
    onsite_api::routes::ADMIN_REFUSED_OPS,
    onsite_api::routes::ADMIN_EXPORT,
    onsite_api::routes::ADMIN_EXPORT_TECHNICIAN_DAYS,
    onsite_api::routes::ADMIN_CARRY_BACKS,
];

/// `limit` and `cursor`, read from the query string beside the list's own parameters.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageArgs {
    /// Items in this page (1 to 10,000; the completed-jobs export 1 to 2,000). Default
    /// 1,000 (the export 500).
    pub limit: Option<u32>,
    /// Where the page starts: the `X-Next-Cursor` of the previous page (opaque). Absent:
    /// the first page.
    pub cursor: Option<String>,
}

impl PageArgs {
    /// The page size asked for, checked against `max`, or `default`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, String> {
        match self.limit {
            None => Ok(default),
            Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
            Some(_) => Err(format!("limit must be between 1 and {max}")),
        }
    }

    /// The cursor, empty taken as none.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// A cursor that names no item of the list (it was made for another list, or edited).
#[derive(Debug, PartialEq, Eq)]
pub struct BadCursor;

impl std::fmt::Display for BadCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the cursor names no item of this list: start again without a cursor")
    }
}

/// One page and the cursor of the next (none on the last).
#[derive(Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// From up to `limit + 1` items read after the cursor: the extra one only says that
    /// more follow. `key` gives an item's cursor.
    pub fn from_probe(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(key) } else { None };
        Page { items, next }
    }
}

/// Cuts one page from a whole list in its order: the items after the one whose key is
/// `cursor`, at most `limit`.
pub fn cut<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<T>, BadCursor> {
    let start = match cursor {
        None => 0,
        Some(c) => items.iter().position(|i| key(i) == c).ok_or(BadCursor)? + 1,
    };
    let rest: Vec<T> = items.into_iter().skip(start).take(limit + 1).collect();
    Ok(Page::from_probe(rest, limit, key))
}

/// `body` with the next page's headers, if any: `Link` to the same request with the
/// cursor replaced, and `X-Next-Cursor`.
pub fn respond(body: impl IntoResponse, next: Option<String>, uri: &Uri) -> Response {
    let mut res = body.into_response();
    if let Some(cursor) = next {
        let mut query: Vec<(String, String)> =
            serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
        query.retain(|(k, _)| k != "cursor");
        query.push(("cursor".into(), cursor.clone()));
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        let link = format!("<{}?{}>; rel=\"next\"", uri.path(), query);
        if let (Ok(link), Ok(cursor)) =
            (HeaderValue::from_str(&link), HeaderValue::from_str(&cursor))
        {
            res.headers_mut().insert(LINK, link);
            res.headers_mut().insert(NEXT_CURSOR, cursor);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &u32) -> String {
        format!("k{n}")
    }

    #[test]
    fn pages_follow_each_other_to_the_end_without_gaps_or_repeats() {
        let all: Vec<u32> = (0..10).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = cut(all.clone(), key, cursor.as_deref(), 3).unwrap();
            seen.extend(page.items);
            pages += 1;
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
        assert_eq!(pages, 4);
        // An exact fit: no empty page after the last.
        let page = cut((0..6).collect(), key, Some("k2"), 3).unwrap();
        assert_eq!(page.items, vec![3, 4, 5]);
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_cursor_stays_put_when_items_are_added_before_it() {
        let page = cut(vec![1, 2, 3, 4], key, None, 2).unwrap();
        assert_eq!(page.next.as_deref(), Some("k2"));
        // An item added at the front meanwhile: the next page still starts after 2.
        let page = cut(vec![0, 1, 2, 3, 4], key, page.next.as_deref(), 2).unwrap();
        assert_eq!(page.items, vec![3, 4]);
    }

    #[test]
    fn a_cursor_of_another_list_and_limits_out_of_range_are_refused() {
        assert_eq!(cut(vec![1, 2], key, Some("nope"), 2), Err(BadCursor));
        let args = |limit| PageArgs {
            limit,
            cursor: None,
        };
        assert_eq!(args(None).limit(5, 10), Ok(5));
        assert_eq!(args(Some(10)).limit(5, 10), Ok(10));
        assert!(args(Some(0)).limit(5, 10).is_err());
        assert!(args(Some(11)).limit(5, 10).is_err());
    }

    #[test]
    fn the_next_page_is_linked_with_the_same_filters() {
        let uri: Uri = "/v1/admin/work-orders?status=assigned&cursor=old&limit=2"
            .parse()
            .unwrap();
        let res = respond("[]", Some("abc".into()), &uri);
        let link = res.headers().get(LINK).unwrap().to_str().unwrap();
        assert_eq!(
            link,
            "</v1/admin/work-orders?status=assigned&limit=2&cursor=abc>; rel=\"next\""
        );
        assert_eq!(res.headers().get(NEXT_CURSOR).unwrap(), "abc");
        let res = respond("[]", None, &uri);
        assert!(res.headers().get(LINK).is_none());
    }
}
