//! Sync state in the store (issue 5): push results per op, the pull cursor and epoch,
//! applying pulled pages. Filled in by the sync work.
