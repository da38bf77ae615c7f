//! The visit in the store (issue 3): diagnosis, quote and acceptance, parts from the van,
//! payments, feedback, expenses. Filled in by the visit work.
