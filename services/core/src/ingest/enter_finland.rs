//! Validating the structured part of an Enter Finland submission, with one
//! reason per field so the e-service can show the applicant what to fix.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::events::Language;
use crate::ids::{ApplicationId, CustomerNumber, RequestId};

/// The longest message text accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100_000;
const MAX_SUBMISSION_ID: usize = 200;
const FIELDS: [&str; 6] = [
    "submission_id",
    "customer_number",
    "application_id",
    "request_id",
    "language",
    "message",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    fn new(field: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A submission whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub submission_id: String,
    pub customer_number: CustomerNumber,
    pub application_id: ApplicationId,
    pub request_id: Option<RequestId>,
    pub language: Language,
    pub message: String,
}

/// Parses the `metadata` JSON, reporting every invalid field at once.
pub fn parse_submission(json: &[u8]) -> Result<Submission, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(json).map_err(|e| {
        vec![FieldError::new(
            "metadata",
            format!("is not valid JSON: {e}"),
        )]
    })?;
    let Value::Object(map) = value else {
        return Err(vec![FieldError::new("metadata", "must be a JSON object")]);
    };
    let mut errors: Vec<FieldError> = map
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| FieldError::new(k, "is not a known field"))
        .collect();

    let submission_id = required_str(&map, "submission_id", &mut errors).and_then(|s| {
        if s.trim().is_empty() || s.len() > MAX_SUBMISSION_ID {
            errors.push(FieldError::new(
                "submission_id",
                format!("must be 1 to {MAX_SUBMISSION_ID} characters"),
            ));
            None
        } else {
            Some(s.to_owned())
        }
    });
    let customer_number = required_str(&map, "customer_number", &mut errors)
        .and_then(|s| record(CustomerNumber::parse(s), "customer_number", &mut errors));
    let application_id = required_str(&map, "application_id", &mut errors)
        .and_then(|s| record(ApplicationId::parse(s), "application_id", &mut errors));
    let request_id = match map.get("request_id") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => record(RequestId::parse(s), "request_id", &mut errors).map(Some),
        Some(_) => {
            errors.push(FieldError::new("request_id", "must be a string or null"));
            None
        }
    };
    let language = required_str(&map, "language", &mut errors).and_then(|s| match s {
        "fi" => Some(Language::Fi),
        "sv" => Some(Language::Sv),
        "en" => Some(Language::En),
        _ => {
            errors.push(FieldError::new("language", "must be one of fi, sv, en"));
            None
        }
    });
    let message = match map.get("message") {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) if s.chars().count() <= MAX_MESSAGE_CHARS => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "message",
                format!("is longer than {MAX_MESSAGE_CHARS} characters; send long texts as a file"),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("message", "must be a string"));
            None
        }
    };

    match (
        submission_id,
        customer_number,
        application_id,
        request_id,
        language,
        message,
    ) {
        (
            Some(submission_id),
            Some(customer_number),
            Some(application_id),
            Some(request_id),
            Some(language),
            Some(message),
        ) if errors.is_empty() => Ok(Submission {
            submission_id,
            customer_number,
            application_id,
            request_id,
            language,
            message,
        }),
        _ => Err(errors),
    }
}

fn required_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match map.get(field) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(field, "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(field, "must be a string"));
            None
        }
    }
}

fn record<T>(
    parsed: Result<T, crate::IdError>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    parsed
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "submission_id": "EF-1",
            "customer_number": "12345678-6",
            "application_id": "MIG-2026-004217-5",
            "request_id": "RFI-000077-1",
            "language": "sv",
            "message": "Här är mitt pass.",
        })
    }

    fn fields(result: Result<Submission, Vec<FieldError>>) -> Vec<String> {
        let mut fields: Vec<_> = result
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        fields
    }

    fn parse(value: &Value) -> Result<Submission, Vec<FieldError>> {
        parse_submission(value.to_string().as_bytes())
    }

    #[test]
    fn a_valid_submission_parses() {
        let submission = parse(&valid()).expect("valid");
        assert_eq!(submission.language, Language::Sv);
        assert_eq!(
            submission.request_id.expect("given").as_str(),
            "RFI-000077-1"
        );
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let mut value = valid();
        let map = value.as_object_mut().expect("object");
        map.remove("request_id");
        map.remove("message");
        let submission = parse(&value).expect("valid");
        assert_eq!(submission.request_id, None);
        assert_eq!(submission.message, "");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let value = json!({
            "submission_id": "",
            "customer_number": 12345678,
            "application_id": "MIG-2026-004217-4",
            "request_id": "RFI-1",
            "language": "de",
            "colour": "blue",
        });
        assert_eq!(
            fields(parse(&value)),
            [
                "application_id",
                "colour",
                "customer_number",
                "language",
                "request_id",
                "submission_id"
            ]
        );
    }

    #[test]
    fn the_reason_says_what_is_wrong() {
        let mut value = valid();
        value["application_id"] = json!("MIG-2026-004217-4");
        let errors = parse(&value).expect_err("check digit");
        assert!(
            errors[0].reason.contains("check digit"),
            "{}",
            errors[0].reason
        );
        value["application_id"] = json!("2026-004217");
        let errors = parse(&value).expect_err("format");
        assert!(
            errors[0].reason.contains("MIG-YYYY-NNNNNN-C"),
            "{}",
            errors[0].reason
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert_eq!(
            fields(parse(&json!({}))),
            [
                "application_id",
                "customer_number",
                "language",
                "submission_id"
            ]
        );
    }

    #[test]
    fn non_objects_and_broken_json_are_refused() {
        assert_eq!(fields(parse_submission(b"[1,2]")), ["metadata"]);
        assert_eq!(
            fields(parse_submission(b"{\"submission_id\":")),
            ["metadata"]
        );
    }

    #[test]
    fn an_overlong_message_is_refused() {
        let mut value = valid();
        value["message"] = json!("x".repeat(MAX_MESSAGE_CHARS + 1));
        assert_eq!(fields(parse(&value)), ["message"]);
    }
}
