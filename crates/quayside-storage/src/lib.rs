//! quayside-storage
