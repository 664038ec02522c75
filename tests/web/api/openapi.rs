//! `/api/v1/openapi.json`: an OpenAPI 3.1 document of every API route, and a client written
//! from the document alone.

use reqwest::StatusCode;
use serde_json::Value;

use super::{json_of, token};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_every_route_with_unique_operation_ids() {
    let app = TestApp::spawn().await;
    let document = json_of(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().unwrap() {
            operations.push((
                format!("{} {path}", method.to_uppercase()),
                operation["operationId"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut listed: Vec<&str> = operations.iter().map(|(o, _)| o.as_str()).collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "DELETE /api/v1/memes/{id}",
            "DELETE /api/v1/memes/{id}/comments/{comment_id}",
            "DELETE /api/v1/users/{username}/subscription",
            "GET /api/v1/memes",
            "GET /api/v1/memes/{id}",
            "GET /api/v1/templates",
            "GET /api/v1/users/{username}",
            "GET /api/v1/users/{username}/memes",
            "POST /api/v1/memes",
            "POST /api/v1/memes/{id}/comments",
            "PUT /api/v1/users/{username}/subscription",
        ],
        "SPEC §4's endpoints"
    );
    let mut ids: Vec<&str> = operations.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), operations.len(), "operation ids are unique");
    assert!(document["components"]["securitySchemes"]["token"]["scheme"] == "bearer");
}

/// A client that knows only the document: it finds the operations by their ids, builds the
/// request from the document's path and request schema, and reads the answer by the response
/// schema's property names.
#[tokio::test]
async fn a_client_written_from_the_document_makes_a_meme_with_a_token_and_reads_it_back() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "doc client").await;
    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let operation = |id: &str| -> (String, String, Value) {
        for (path, methods) in document["paths"].as_object().unwrap() {
            for (method, op) in methods.as_object().unwrap() {
                if op["operationId"] == id {
                    return (method.to_uppercase(), path.clone(), op.clone());
                }
            }
        }
        panic!("no operation {id}");
    };
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => document["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
            None => schema.clone(),
        }
    };

    let (method, path, create) = operation("createMeme");
    // The body is one of its forms: the one with a `template` property.
    let request_schema = resolve(&create["requestBody"]["content"]["application/json"]["schema"]);
    let on_template = request_schema["oneOf"]
        .as_array()
        .expect("a template or a remix")
        .iter()
        .map(&resolve)
        .find(|form| form["properties"]["template"].is_object())
        .expect("a form with a template");
    assert!(on_template["required"].as_array().unwrap().contains(&Value::from("template")));
    let box_schema = resolve(&on_template["properties"]["boxes"]["items"]);
    assert!(box_schema["properties"]["text"].is_object());
    let created = reqwest::Client::new()
        .request(method.parse().unwrap(), app.url(&path))
        .bearer_auth(&secret)
        .json(&serde_json::json!({ "template": "chelsea", "boxes": [{ "text": "from the document" }] }))
        .send()
        .await
        .unwrap();
    assert!(create["responses"]["201"].is_object());
    assert_eq!(created.status(), StatusCode::CREATED);
    let meme: Value = created.json().await.unwrap();
    let meme_schema = resolve(&create["responses"]["201"]["content"]["application/json"]["schema"]);
    for required in meme_schema["required"].as_array().unwrap() {
        assert!(meme.get(required.as_str().unwrap()).is_some(), "{required} in {meme}");
    }

    let (method, path, _) = operation("getMeme");
    let read = reqwest::Client::new()
        .request(method.parse().unwrap(), app.url(&path.replace("{id}", meme["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["meme"]["captions"], serde_json::json!(["from the document"]));
}
