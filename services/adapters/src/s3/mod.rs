//! S3 through aws-sdk-s3: streaming uploads and downloads of objects that
//! may be hundreds of megabytes, never held whole in memory.

mod client;
mod config;

pub use client::{Listed, ObjectStore, S3Error, Stored};
pub use config::S3Config;
