//! The visit's rules: entitlement (warranty, contract, exclusions), pricing with versioned
//! fee tables and bundles, old-part deposits. Pure functions, no I/O.
