//! quayside-meta
