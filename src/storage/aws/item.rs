//! DynamoDB items as plain maps, the few helpers that read and write their attributes, and the
//! translation of SDK errors into the one `StorageError` handlers see.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use time::OffsetDateTime;

use crate::storage::{StorageError, StorageResult};

pub type Item = HashMap<String, AttributeValue>;

/// Partition and sort key attribute names of the main table (one table, many item kinds).
pub const PK: &str = "pk";
pub const SK: &str = "sk";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// The item of `items` (a batch read's answer, a partition's page) with this key.
pub fn find_item<'a>(items: &'a [Item], pk: &str, sk: &str) -> Option<&'a Item> {
    let is = |item: &Item, name: &str, value: &str| {
        item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(value)
    };
    items.iter().find(|item| is(item, PK, pk) && is(item, SK, sk))
}

/// The item of `items` with the same key as `wanted`.
pub fn find_key<'a>(items: &'a [Item], wanted: &Item) -> Option<&'a Item> {
    items.iter().find(|item| item.get(PK) == wanted.get(PK) && item.get(SK) == wanted.get(SK))
}

/// A transaction's put that succeeds only where no item has the key yet (uniqueness, and
/// idempotent retries: a second attempt cancels instead of writing twice).
pub fn put_if_new(table: &str, item: Item) -> StorageResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(|e| StorageError::Other(anyhow::Error::new(e).context("building a DynamoDB request")))?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build())
}

/// A stored item that does not have the shape this code wrote: data corruption, not user error.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Other(anyhow::anyhow!("corrupt {what} item: {detail}"))
}

/// A media key read back from an item.
pub fn get_key(item: &Item, name: &str) -> StorageResult<crate::domain::BlobKey> {
    parse_s(item, name, |text| crate::domain::BlobKey::parse(text).ok_or_else(|| format!("bad media key {text:?}")))
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> StorageResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(name, "missing or not a string")),
    }
}

pub fn get_n<T: FromStr>(item: &Item, name: &str) -> StorageResult<T> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| corrupt(name, "not a number of the right kind")),
        _ => Err(corrupt(name, "missing or not a number")),
    }
}

pub fn get_b<'a>(item: &'a Item, name: &str) -> StorageResult<&'a [u8]> {
    match item.get(name) {
        Some(AttributeValue::B(blob)) => Ok(blob.as_ref()),
        _ => Err(corrupt(name, "missing or not binary")),
    }
}

pub fn get_time(item: &Item, name: &str) -> StorageResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(get_n(item, name)?).map_err(|e| corrupt(name, e))
}

/// Parses a domain value stored in a string attribute.
pub fn parse_s<T, E: std::fmt::Display>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> StorageResult<T> {
    parse(get_s(item, name)?).map_err(|e| corrupt(name, e))
}

/// Error codes of a request refused for going over a rate (the SDK retried it already).
const THROTTLE_CODES: &[&str] =
    &["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "SlowDown"];

/// Besides throttles, error codes that mean "AWS cannot serve this right now" rather than
/// "this request is wrong".
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServerError",
    "ServiceUnavailable",
    // A single write that met a transaction on its item: the same "try again" as a throttle.
    "TransactionConflictException",
];

/// Translates an SDK error: no answer (timeout, refused connection, garbled response) or a
/// throttle is `Unavailable` (pages answer 503); anything else is `Other` with the context of
/// what was being attempted.
pub fn sdk_error<E, R>(what: &str, error: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let throttled = THROTTLE_CODES.contains(&code);
            if throttled {
                crate::telemetry::metrics::storage_error("throttled");
            }
            throttled || UNAVAILABLE_CODES.contains(&code)
        }
        _ => false,
    };
    let detail = format!("{what}: {}", DisplayErrorContext(&error));
    if unavailable { StorageError::Unavailable(detail) } else { StorageError::Other(anyhow::anyhow!(detail)) }
}

/// The service error's code, if the service answered with one.
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.as_service_error().and_then(|e| e.code())
}

/// A single write's condition failed (not a transaction's: see `TransactError`).
pub fn conditional_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error_code(error) == Some("ConditionalCheckFailedException")
}
