//! List paging shared by every backend: `limit` (default 100, at most 10,000), `after`, and
//! the `next` key.

use cairn_core::wire::ListQuery;

use crate::error::{Error, Result};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size.
pub const MAX_LIMIT: u32 = 10_000;

/// A checked page request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Page {
    limit: u32,
}

impl Page {
    pub(crate) fn of(q: &ListQuery) -> Result<Self> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::Unprocessable(format!(
                "limit {limit} is out of range: use 1 to {MAX_LIMIT}"
            )));
        }
        Ok(Self { limit })
    }

    /// Whether the query asks for descending order.
    pub(crate) fn descending(self, q: &ListQuery) -> Result<bool> {
        match q.order.as_deref() {
            None | Some("asc") => Ok(false),
            Some("desc") => Ok(true),
            Some(other) => Err(Error::Unprocessable(format!(
                "order '{other}' is not asc or desc"
            ))),
        }
    }

    /// Rows to fetch: one more than the limit, to know whether more remain.
    pub(crate) fn fetch(self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cut `items` to the limit, answering the `next` key when more remain.
    pub(crate) fn trim<T>(self, items: &mut Vec<T>, key: impl Fn(&T) -> String) -> Option<String> {
        if items.len() > self.limit as usize {
            items.truncate(self.limit as usize);
            items.last().map(key)
        } else {
            None
        }
    }
}
