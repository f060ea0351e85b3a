//! The receipt texts: built in from `templates/`, or read from a directory
//! at start so wording can change without a release. A file that does not
//! parse stops the service at start, never a receipt at send time.

use std::path::Path;

use intake_core::receipt::{Template, Templates};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read receipt template {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("receipt template {name}: {source}")]
    Parse {
        name: String,
        #[source]
        source: toml::de::Error,
    },
}

const BUILT_IN: [(&str, &str); 3] = [
    ("fi.toml", include_str!("../templates/fi.toml")),
    ("sv.toml", include_str!("../templates/sv.toml")),
    ("en.toml", include_str!("../templates/en.toml")),
];

pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
    let mut parsed = Vec::with_capacity(3);
    for (name, built_in) in BUILT_IN {
        let text = match dir {
            Some(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                    path: path.display().to_string(),
                    source,
                })?
            }
            None => built_in.to_owned(),
        };
        let template: Template = toml::from_str(&text).map_err(|source| TemplateError::Parse {
            name: name.to_owned(),
            source,
        })?;
        parsed.push(template);
    }
    let [fi, sv, en]: [Template; 3] = parsed
        .try_into()
        .unwrap_or_else(|_| unreachable!("three templates parsed"));
    Ok(Templates { fi, sv, en })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_texts_load() {
        let templates = load(None).expect("built-in templates");
        assert!(templates.sv.subject.contains("{reference}"));
    }

    #[test]
    fn a_missing_directory_is_named() {
        let error = load(Some(Path::new("/nonexistent/templates"))).expect_err("no such dir");
        assert!(error.to_string().contains("/nonexistent/templates/fi.toml"));
    }
}
