//! Blob storage for quayside.
//!
//! - [`layout`]: Quay's object paths (`sha256/<2 hex>/<hex>`, `uploads/<uuid>`).
//! - [`driver`]: the seam from a Quay `DISTRIBUTED_STORAGE_CONFIG` entry to an
//!   OpenDAL operator.
//! - [`Engine`]: one location; streaming reads and hashing streaming writes.
//! - [`UploadStyle`] / [`UploadParts`]: how a chunked upload is kept between requests
//!   (appended in place, or one object per chunk assembled at the end).
//! - [`DistributedStorage`]: all locations plus the preference order.
//! - [`testsuite`]: the behaviour every driver must show.

pub mod cdn;
pub mod driver;
pub mod layout;
pub mod testsuite;

mod distributed;
mod engine;
mod error;
mod sas;
mod swift;
mod upload;

pub use distributed::DistributedStorage;
pub use driver::{DriverKind, LocationConfig};
pub use engine::{ByteStream, Engine, HashingWriter, WriteStreamError, Written};
pub use error::StorageError;
pub use upload::{UploadPart, UploadParts, UploadStyle};
