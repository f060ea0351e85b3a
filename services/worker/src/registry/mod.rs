//! The applications registry: followed from its compacted topic into
//! PostgreSQL, and held in memory for matching.

mod follow;
mod view;

pub use follow::{RegistryError, follow};
pub use view::{RegistryView, language, registered};
