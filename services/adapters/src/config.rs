//! Loading a service's configuration from an optional TOML file named by
//! `INTAKE_CONFIG`, overridden by `INTAKE_<SECTION>__<FIELD>` variables.
//!
//! Sections deny unknown fields, so a misspelt setting stops the service at
//! start instead of being ignored. The top level does not, because one
//! environment often carries the sections of several services.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::de::DeserializeOwned;

const FILE_VAR: &str = "INTAKE_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{FILE_VAR} names {path}, which cannot be read")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// figment's message names the offending key and where it came from.
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
}

/// Reads the configuration once, before anything starts.
pub fn load<T: DeserializeOwned>() -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Ok(path) = std::env::var(FILE_VAR) {
        std::fs::metadata(&path).map_err(|source| ConfigError::File {
            path: path.clone(),
            source,
        })?;
        figment = figment.merge(Toml::file(path));
    }
    figment
        .merge(Env::prefixed("INTAKE_").split("__").ignore(&["config"]))
        .extract()
        .map_err(|e| ConfigError::Invalid(Box::new(e)))
}
