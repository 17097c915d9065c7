//! quayside-test-db
