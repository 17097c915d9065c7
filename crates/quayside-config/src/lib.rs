//! quayside-config
