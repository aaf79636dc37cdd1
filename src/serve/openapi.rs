//! `/api`: the OpenAPI 3.0 document of the service, written from what the server actually offers (its
//! collections, the CRSs of the registry, the limits of [`super::params`]), so it cannot drift from it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::crs::Served;
use super::features::{FINDINGS, REJECTS};
use super::params::{DEFAULT_LIMIT, MAX_LIMIT};
use super::Service;

/// The document.
pub async fn document(State(s): State<Arc<Service>>) -> Response {
    let doc = build(&s);
    ([(header::CONTENT_TYPE, "application/vnd.oai.openapi+json;version=3.0")], doc.to_string()).into_response()
}

fn param(name: &str, description: &str, schema: Json) -> Json {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

fn ok(description: &str, mediatypes: &[&str]) -> Json {
    let content: serde_json::Map<String, Json> = mediatypes
        .iter()
        .map(|m| (m.to_string(), json!({"schema": {"type": if *m == "text/html" {"string"} else {"object"}}})))
        .collect();
    json!({"description": description, "content": content})
}

fn problems() -> Json {
    json!({"description": "a malformed request or an unknown resource: an exception naming the parameter",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/exception"}}}})
}

/// The whole document.
pub fn build(s: &Service) -> Json {
    let ids: Vec<String> = s
        .catalog
        .layers()
        .iter()
        .map(|d| d.kind.name().to_string())
        .chain([REJECTS.to_string(), FINDINGS.to_string()])
        .collect();
    let crs: Vec<String> = Served::all(&s.crs).iter().map(|c| c.uri(&s.crs)).collect();
    let f =
        param("f", "the response format (else the Accept header)", json!({"type": "string", "enum": ["json", "html"]}));
    let collection_id =
        json!({"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string", "enum": ids}});
    let feature_id = json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}});
    let crs_param = |name: &str, what: &str| {
        param(name, what, json!({"type": "string", "format": "uri", "enum": crs, "default": crs[0]}))
    };
    let common = vec![
        param("limit", "features per page", json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT})),
        param("offset", "the first feature of the page (the next links carry it)", json!({"type": "integer", "minimum": 0, "default": 0})),
        param("bbox", "features meeting the box: lower corner, upper corner (4 numbers, or 6 with heights)", json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})),
        crs_param("bbox-crs", "the CRS of bbox"),
        param("datetime", "a day (the versions valid on it) or an interval a/b, either end .. (every version valid in it); default: the current versions", json!({"type": "string"})),
        crs_param("crs", "the CRS of the geometries returned"),
        f.clone(),
    ];
    let items_params: Vec<Json> = std::iter::once(collection_id.clone()).chain(common.iter().cloned()).collect();
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "nrledger 自然资源登记 OGC API – Features", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The registry's layers at any date. Besides the parameters listed, a page takes FIELD=value for each of the collection's queryables."},
        "servers": [{"url": s.base}],
        "paths": {
            "/": {"get": {"summary": "landing page", "operationId": "getLandingPage", "parameters": [f], "responses": {"200": ok("the landing page", &["application/json", "text/html"]), "400": problems()}}},
            "/conformance": {"get": {"summary": "conformance classes", "operationId": "getConformanceDeclaration", "parameters": [f], "responses": {"200": ok("the conformance classes", &["application/json", "text/html"]), "400": problems()}}},
            "/api": {"get": {"summary": "this document", "operationId": "getAPI", "responses": {"200": ok("the API definition", &["application/vnd.oai.openapi+json;version=3.0"])}}},
            "/health": {"get": {"summary": "whether the registry answers", "operationId": "getHealth", "responses": {"200": ok("ok", &["application/json"]), "500": problems()}}},
            "/collections": {"get": {"summary": "the collections", "operationId": "getCollections", "parameters": [f], "responses": {"200": ok("the collections", &["application/json", "text/html"]), "400": problems()}}},
            "/collections/{collectionId}": {"get": {"summary": "a collection", "operationId": "describeCollection", "parameters": [collection_id, f], "responses": {"200": ok("the collection", &["application/json", "text/html"]), "400": problems(), "404": problems()}}},
            "/collections/{collectionId}/queryables": {"get": {"summary": "what a collection can be filtered by", "operationId": "getQueryables", "parameters": [collection_id, f], "responses": {"200": ok("a JSON Schema of the queryable properties", &["application/schema+json", "text/html"]), "400": problems(), "404": problems()}}},
            "/collections/{collectionId}/items": {"get": {"summary": "a page of a collection's features", "operationId": "getFeatures", "parameters": items_params, "responses": {"200": ok("the features", &["application/geo+json", "text/html"]), "400": problems(), "404": problems()}}},
            "/collections/{collectionId}/items/{featureId}": {"get": {"summary": "one feature (one version of a record)", "operationId": "getFeature", "parameters": [collection_id, feature_id, crs_param("crs", "the CRS of the geometry returned"), f], "responses": {"200": ok("the feature", &["application/geo+json", "text/html"]), "400": problems(), "404": problems()}}},
        },
        "components": {"schemas": {"exception": {"type": "object", "required": ["type"], "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "parameter": {"type": "string"}}}}},
    });
    // each layer's items with its queryables as parameters (what GDAL reads to filter on the server)
    for def in s.catalog.layers() {
        let id = def.kind.name();
        let mut ps = common.clone();
        ps.push(param("filter", "a CQL2 condition on the queryables (Basic CQL2 with LIKE, BETWEEN, IN), e.g. DLBM IN ('0101','0103') AND TBMJ > 1000", json!({"type": "string"})));
        ps.push(param(
            "filter-lang",
            "the language of filter",
            json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
        ));
        for field in super::features::queryable_fields(s, def.kind) {
            let schema = json!({"type": super::features::json_type(field)});
            ps.push(param(&field.name, &format!("{} {} (equal to)", field.title, field.title_en), schema));
        }
        doc["paths"][format!("/collections/{id}/items")] = json!({"get": {
            "summary": format!("a page of {}", def.title_en), "operationId": format!("getFeatures_{id}"), "parameters": ps,
            "responses": {"200": ok("the features", &["application/geo+json", "text/html"]), "400": problems()}}});
    }
    let mut ps = common;
    ps.push(param("rule", "the rule's code (NR101 …)", json!({"type": "string"})));
    ps.push(param("severity", "the severity", json!({"type": "string", "enum": ["error", "warning", "info"]})));
    doc["paths"][format!("/collections/{FINDINGS}/items")] = json!({"get": {
        "summary": "a page of the latest stored check run's findings", "operationId": "getFeatures_findings", "parameters": ps,
        "responses": {"200": ok("the findings", &["application/geo+json", "text/html"]), "400": problems()}}});
    doc
}
