//! quayside-app
