//! The inbox's JSON API under `/api/v1`, for the caseworkers' own tools
//! and the web page's tests. Described by the OpenAPI document at
//! `/api/v1/openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::App;
use crate::auth::SignedIn;
use crate::detail::{self, AccessEntry, Detail};
use crate::error::{ApiError, ErrorBody};
use crate::queue::{self, ChannelFilter, Cursor, FlagFilter, QueuePage, QueueQuery};

mod extract;
pub mod quarantine;
pub mod triage;

use self::extract::{ApiJson, ApiPath, ApiQuery};

#[derive(OpenApi)]
#[openapi(
    info(title = "intake inbox", description = "The caseworkers' queue of supplements."),
    paths(me, list_queue, take_next, supplement, mark_handled, download, access_log,
        triage::list, triage::attach, triage::dismiss, quarantine::list, quarantine::analysis,
        quarantine::request_release, quarantine::approve, quarantine::reject),
    components(schemas(ErrorBody, Me, ChannelFilter, FlagFilter)),
    modifiers(&BearerAuth, &CommonAnswers),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// What every operation may answer besides its own: 401 without a valid
/// token, and 400 when a path, query or body cannot be read.
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let answers = &mut operation.responses.responses;
                answers
                    .entry("401".to_owned())
                    .or_insert_with(|| answer("no valid bearer token").into());
                let reads_input = operation.request_body.is_some()
                    || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                if reads_input {
                    answers
                        .entry("400".to_owned())
                        .or_insert_with(|| answer("the request cannot be read").into());
                }
            }
        }
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub sub: String,
    pub name: String,
    pub roles: Vec<String>,
    pub units: Vec<String>,
}

/// Who the token says you are.
#[utoipa::path(get, path = "/api/v1/me", responses(
    (status = 200, body = Me),
    (status = 401, body = ErrorBody),
))]
pub async fn me(SignedIn(who): SignedIn) -> Json<Me> {
    Json(Me {
        sub: who.sub().to_owned(),
        name: who.display_name().to_owned(),
        roles: who.role_names(),
        units: who.unit_names(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// The unit whose queue to show; one of yours.
    #[param(pattern = r"^[^\u0000]*$")]
    pub unit: String,
    pub channel: Option<ChannelFilter>,
    pub flag: Option<FlagFilter>,
    /// true: handled only; false: waiting only.
    pub handled: Option<bool>,
    /// The `next` of the previous page.
    #[param(pattern = r"^[0-9]{1,17}\.[0-9a-f]{32}$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

impl QueueParams {
    pub fn into_query(self, default_limit: u32) -> Result<QueueQuery, ApiError> {
        let (after, limit) = page_bounds(self.after.as_deref(), self.limit, default_limit)?;
        Ok(QueueQuery {
            unit: self.unit,
            channel: self.channel,
            flag: self.flag,
            handled: self.handled,
            after,
            limit,
        })
    }
}

/// Where a page starts and how long it is, for any paged list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `next` of the previous page.
    #[param(pattern = r"^[0-9]{1,17}\.[0-9a-f]{32}$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

impl PageParams {
    pub fn bounds(&self, default_limit: u32) -> Result<(Option<Cursor>, u32), ApiError> {
        page_bounds(self.after.as_deref(), self.limit, default_limit)
    }
}

/// A page's cursor and size, by the rules the document states for them.
fn page_bounds(
    after: Option<&str>,
    limit: Option<u32>,
    default_limit: u32,
) -> Result<(Option<Cursor>, u32), ApiError> {
    let after = after
        .map(|s| {
            Cursor::decode(s).ok_or_else(|| ApiError::Invalid("after: not a page cursor".into()))
        })
        .transpose()?;
    let limit = limit.unwrap_or(default_limit);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Invalid("limit: between 1 and 200".into()));
    }
    Ok((after, limit))
}

/// A unit's queue in arrival order, a page at a time.
#[utoipa::path(get, path = "/api/v1/queue", params(QueueParams), responses(
    (status = 200, body = QueuePage),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody),
))]
pub async fn list_queue(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<Json<QueuePage>, ApiError> {
    let query = params.into_query(app.config.page_size)?;
    let page = queue::page(&app.store, &who, &query).await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TakeNext {
    #[schema(pattern = r"^[^\u0000]*$")]
    pub unit: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Taken {
    pub supplement_id: Uuid,
}

/// Leases the unit's oldest supplement you may handle to you; 204 when
/// none is left.
#[utoipa::path(post, path = "/api/v1/queue/take-next", request_body = TakeNext, responses(
    (status = 200, body = Taken),
    (status = 204),
    (status = 403, body = ErrorBody),
))]
pub async fn take_next(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiJson(body): ApiJson<TakeNext>,
) -> Result<Response, ApiError> {
    let picked = queue::take_next(&app.store, &who, &body.unit, app.config.lease).await?;
    Ok(match picked {
        Some(supplement_id) => Json(Taken { supplement_id }).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// One supplement: metadata, files and verdicts, links and gaps. Opening
/// it is recorded in the audit log, and so is a refusal.
#[utoipa::path(get, path = "/api/v1/supplements/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Detail),
    (status = 403, body = ErrorBody, description = "e.g. confidential, with whose it is"),
    (status = 404, body = ErrorBody),
))]
pub async fn supplement(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Detail>, ApiError> {
    let opened = detail::open(&app.store, &who, id).await?;
    let detail = opened.ok_or(ApiError::NotFound)?;
    if let Some(why) = &detail.supplement.why_not {
        return Err(ApiError::denied(why, detail.supplement.assigned_to.clone()));
    }
    Ok(Json(detail))
}

/// Marks a supplement handled (yours, or one no one holds).
#[utoipa::path(post, path = "/api/v1/supplements/{id}/handled", params(("id" = Uuid, Path)), responses(
    (status = 204),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "handled already, or held by someone else"),
))]
pub async fn mark_handled(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    queue::mark_handled(&app.store, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A clean file, decrypted as it streams. Refused files never are.
#[utoipa::path(get, path = "/api/v1/files/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, content_type = "application/octet-stream"),
    (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn download(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let file = detail::open_file(&app.store, &who, id).await?;
    let file = file.ok_or(ApiError::NotFound)?;
    if let Some(why) = &file.refused {
        return Err(ApiError::denied(why, None));
    }
    crate::download::serve(&app.objects, app.keys.clone(), file).await
}

/// Who opened a supplement, when and under which role: for the caseworker
/// the application is assigned to, and for auditors. Others get an empty
/// list, whether the supplement exists or not.
#[utoipa::path(get, path = "/api/v1/supplements/{id}/access-log", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Vec<AccessEntry>),
))]
pub async fn access_log(
    State(app): State<App>,
    SignedIn(who): SignedIn,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    Ok(Json(detail::access_log(&app.store, &who, id).await?))
}
