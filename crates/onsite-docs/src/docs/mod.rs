pub(crate) mod carryback;
pub(crate) mod common;
pub(crate) mod dayend;
pub(crate) mod quote;
pub(crate) mod receipt;
pub(crate) mod signoff;
