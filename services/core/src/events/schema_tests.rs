//! Every Rust event type, serialised, must validate against its JSON Schema
//! under `schemas/`, and the schemas must be strict enough to notice when
//! the Rust type gains or loses a field.

use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri, Validator};
use serde::Serialize;
use serde_json::{Value, json};

use super::envelope::SCHEMA_BASE;
use super::*;

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Serves `$ref`s to `SCHEMA_BASE` from the `schemas/` folder, so the test
/// checks the files as committed and never reaches the network.
struct SchemaDir;

impl Retrieve for SchemaDir {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix(SCHEMA_BASE)
            .ok_or_else(|| format!("schema {uri} is outside {SCHEMA_BASE}"))?;
        let text = std::fs::read_to_string(schema_dir().join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn load(file: &str) -> Value {
    let path = schema_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"))
}

fn validator(file: &str) -> Validator {
    let schema = load(file);
    assert_eq!(
        schema["$id"],
        json!(format!("{SCHEMA_BASE}{file}")),
        "{file}: $id must match its file name"
    );
    jsonschema::options()
        .with_retriever(SchemaDir)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{file} is not a valid schema: {e}"))
}

fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_all_valid<T: EventData>(examples: &[T]) {
    let validator = validator(T::SCHEMA);
    for example in examples {
        let instance = serde_json::to_value(example).expect("serialises");
        let errors = errors(&validator, &instance);
        assert!(
            errors.is_empty(),
            "{} rejects {instance}:\n{}",
            T::SCHEMA,
            errors.join("\n")
        );
    }
}

#[test]
fn every_event_type_matches_its_schema() {
    assert_all_valid(&examples::securemail());
    assert_all_valid(&examples::enter_finland());
    assert_all_valid(&examples::application());
    assert_all_valid(&[examples::routed()]);
    assert_all_valid(&[examples::triaged()]);
    assert_all_valid(&examples::quarantined());
    assert_all_valid(&examples::receipt());
}

#[test]
fn every_schema_file_belongs_to_an_event_type() {
    let mut on_disk: Vec<String> = std::fs::read_dir(schema_dir())
        .expect("schemas/ exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json") && !name.starts_with("common."))
        .collect();
    on_disk.sort();
    let mut declared: Vec<String> = SCHEMA_FILES.iter().map(|s| s.to_string()).collect();
    declared.sort();
    assert_eq!(on_disk, declared);
}

/// If these pass, the schemas would catch a field added to (or renamed in)
/// a Rust type, and an id with a bad shape.
fn assert_rejected<T: EventData + Serialize>(example: &T, edit: impl FnOnce(&mut Value)) {
    let mut instance = serde_json::to_value(example).expect("serialises");
    edit(&mut instance);
    assert!(
        !errors(&validator(T::SCHEMA), &instance).is_empty(),
        "{} accepted {instance}",
        T::SCHEMA
    );
}

#[test]
fn schemas_reject_unknown_and_missing_fields() {
    assert_rejected(&examples::routed(), |v| v["surprise"] = json!(1));
    assert_rejected(&examples::routed(), |v| {
        v.as_object_mut().expect("object").remove("sequence");
    });
    assert_rejected(&examples::triaged(), |v| {
        v["reasons"][0] = json!({"kind": "gut_feeling"})
    });
    assert_rejected(&examples::receipt()[0], |v| {
        v["mail"]["x_mailer"] = json!("x")
    });
    assert_rejected(&examples::securemail()[0], |v| {
        v["transport"] = json!("fax")
    });
}

#[test]
fn schemas_check_identifier_shapes() {
    assert_rejected(&examples::enter_finland()[0], |v| {
        v["application_id"] = json!("2026-004217")
    });
    assert_rejected(&examples::application()[0], |v| {
        v["customer_number"] = json!("1234")
    });
    assert_rejected(&examples::quarantined()[0], |v| {
        v["object"]["sha256"] = json!("not-hex")
    });
    assert_rejected(&examples::securemail()[0], |v| {
        v["arrived_at"] = json!("yesterday")
    });
}
