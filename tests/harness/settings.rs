//! The stack's addresses: the environment first, then `infra/local/stack.env`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Settings {
    repo_dir: PathBuf,
    file: HashMap<String, String>,
}

impl Settings {
    pub fn load() -> Self {
        let repo_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is inside the repository")
            .to_path_buf();
        let path = repo_dir.join("infra/local/stack.env");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let file = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Self { repo_dir, file }
    }

    pub fn get(&self, key: &str) -> String {
        std::env::var(key)
            .ok()
            .or_else(|| self.file.get(key).cloned())
            .unwrap_or_else(|| {
                panic!("{key} is neither in the environment nor in infra/local/stack.env")
            })
    }

    pub fn repo_dir(&self) -> &Path {
        &self.repo_dir
    }
}
