use thiserror::Error;

/// Everything that can go wrong while rendering. Messages never carry customer data:
/// they name the field or the stage, not the content.
#[derive(Debug, Error)]
pub enum DocsError {
    /// An image in the input (signature or logo) is not a usable PNG.
    #[error("{what} image is not a usable PNG: {reason}")]
    Image { what: &'static str, reason: String },
    /// An amount or a sum of amounts does not fit in 64 bits of fen.
    #[error("amount out of range in {0}")]
    AmountOverflow(&'static str),
    /// An input field that must not be empty is empty, or has an impossible value.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// The embedded font could not be read or subset.
    #[error("font: {0}")]
    Font(String),
    /// printpdf or lopdf failed to build the document.
    #[error("pdf: {0}")]
    Pdf(String),
    /// Writing sample files (samples::render_all only; the render path does no I/O).
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
