//! Counts the DynamoDB requests each page view makes (SPEC §7: at most 3, and never a Scan).
//!
//! An SDK interceptor sees every attempt the DynamoDB client sends. The web layer runs each
//! request inside `scope`, a task-local tally, and logs the total when the response is ready;
//! requests made outside a scope (background workers) are only counted globally.
//!
//! When asked (`record_write_partitions`, for the partition-heat test and load runs), it also
//! records the partition keys each write touches: the item's own, and those of the indexes its
//! item is in. Every index projects all attributes, so DynamoDB rewrites an item's index
//! entries on any change to it; an update's index keys are the ones its item was last written
//! with, which the recorder remembers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// What one page view cost.
#[derive(Debug, Default)]
pub struct RequestTally {
    requests: AtomicU32,
    scans: AtomicU32,
    operations: std::sync::Mutex<Vec<&'static str>>,
}

impl RequestTally {
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn scans(&self) -> u32 {
        self.scans.load(Ordering::Relaxed)
    }

    /// The operations sent, in order (e.g. "GetItem,Query").
    pub fn operations(&self) -> String {
        self.operations.lock().map(|ops| ops.join(",")).unwrap_or_default()
    }
}

/// Operation names as static strings, so recording one allocates nothing.
fn static_name(operation: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "GetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "BatchGetItem",
        "DescribeTable",
    ];
    KNOWN.iter().find(|k| **k == operation).copied().unwrap_or("other")
}

tokio::task_local! {
    static CURRENT: Arc<RequestTally>;
}

/// Runs `work` with a fresh tally and returns both.
pub async fn scope<F: Future>(work: F) -> (F::Output, Arc<RequestTally>) {
    let tally = Arc::new(RequestTally::default());
    let output = CURRENT.scope(tally.clone(), work).await;
    (output, tally)
}

type Item = std::collections::HashMap<String, AttributeValue>;

/// Whether writes' partitions are being recorded (off in production: it costs a lock a write).
static RECORDING: AtomicBool = AtomicBool::new(false);

#[derive(Default)]
struct Heat {
    /// (table, partition) → writes that touched it; a partition is `pk=<value>` or
    /// `<index>=<value>`.
    touches: HashMap<(String, String), u64>,
    /// table → writes recorded.
    writes: HashMap<String, u64>,
    /// (table, pk, sk) → the index partitions the item is in.
    index_keys: HashMap<(String, String, String), Vec<String>>,
}

static HEAT: LazyLock<Mutex<Heat>> = LazyLock::new(Mutex::default);

/// Starts recording the partitions each write touches (for every client in this process).
pub fn record_write_partitions() {
    RECORDING.store(true, Ordering::Relaxed);
}

/// What the writes to `table` touched since recording started: the number of writes, and each
/// partition with how many of them touched it, hottest first.
pub fn write_heat(table: &str) -> (u64, Vec<(String, u64)>) {
    let heat = HEAT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut partitions: Vec<(String, u64)> =
        heat.touches.iter().filter(|((t, _), _)| t == table).map(|((_, p), n)| (p.clone(), *n)).collect();
    partitions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (heat.writes.get(table).copied().unwrap_or(0), partitions)
}

fn string_of(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// The index partitions an item written whole is in.
fn index_partitions_of(item: &Item) -> Vec<String> {
    super::resources::GSIS
        .iter()
        .filter_map(|(index, pk, _, _)| string_of(item, pk).map(|value| format!("{index}={value}")))
        .collect()
}

/// One element of a write: a whole item put, an update or delete of a key, or a check.
enum Element<'a> {
    Put(&'a Item),
    Change(&'a Item),
    Delete(&'a Item),
    Check,
}

fn elements(
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Option<Vec<(String, Element<'_>)>> {
    if let Some(put) = input.downcast_ref::<PutItemInput>() {
        return Some(vec![(put.table_name.clone()?, Element::Put(put.item.as_ref()?))]);
    }
    if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
        return Some(vec![(update.table_name.clone()?, Element::Change(update.key.as_ref()?))]);
    }
    if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
        return Some(vec![(delete.table_name.clone()?, Element::Delete(delete.key.as_ref()?))]);
    }
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        let mut out = Vec::new();
        for element in transaction.transact_items() {
            if let Some(put) = element.put() {
                out.push((put.table_name().to_owned(), Element::Put(put.item())));
            } else if let Some(update) = element.update() {
                out.push((update.table_name().to_owned(), Element::Change(update.key())));
            } else if let Some(delete) = element.delete() {
                out.push((delete.table_name().to_owned(), Element::Delete(delete.key())));
            } else {
                out.push((String::new(), Element::Check));
            }
        }
        return Some(out);
    }
    if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
        let mut out = Vec::new();
        for (table, requests) in batch.request_items.iter().flatten() {
            for request in requests {
                if let Some(put) = request.put_request() {
                    out.push((table.clone(), Element::Put(put.item())));
                } else if let Some(delete) = request.delete_request() {
                    out.push((table.clone(), Element::Delete(delete.key())));
                }
            }
        }
        return Some(out);
    }
    None
}

/// Records the partitions one write request touches. A transaction or batch counts once per
/// partition however many of its elements land there.
fn record(elements: Vec<(String, Element<'_>)>) {
    let mut heat = HEAT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut touched: std::collections::BTreeSet<(String, String)> = std::collections::BTreeSet::new();
    for (table, element) in elements {
        let (item, whole) = match element {
            Element::Put(item) => (item, true),
            Element::Change(key) | Element::Delete(key) => (key, false),
            Element::Check => continue,
        };
        let (Some(pk), sk) = (string_of(item, "pk"), string_of(item, "sk").unwrap_or_default()) else { continue };
        let id = (table.clone(), pk.clone(), sk);
        let indexes = if whole {
            let indexes = index_partitions_of(item);
            heat.index_keys.insert(id, indexes.clone());
            indexes
        } else {
            heat.index_keys.get(&id).cloned().unwrap_or_default()
        };
        touched.insert((table.clone(), format!("pk={pk}")));
        touched.extend(indexes.into_iter().map(|p| (table.clone(), p)));
    }
    for table in touched.iter().map(|(t, _)| t.clone()).collect::<std::collections::BTreeSet<_>>() {
        *heat.writes.entry(table).or_default() += 1;
    }
    for partition in touched {
        *heat.touches.entry(partition).or_default() += 1;
    }
}

/// The interceptor installed on the DynamoDB client.
#[derive(Debug)]
pub struct Meter;

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "DynamoDbRequestMeter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if RECORDING.load(Ordering::Relaxed)
            && let Some(elements) = elements(context.input())
        {
            record(elements);
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("unknown");
        let scan = operation == "Scan";
        crate::telemetry::metrics::storage_request(static_name(operation));
        let _ = CURRENT.try_with(|tally| {
            tally.requests.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut operations) = tally.operations.lock() {
                operations.push(static_name(operation));
            }
            if scan {
                tally.scans.fetch_add(1, Ordering::Relaxed);
            }
        });
        if scan {
            tracing::warn!("a DynamoDB Scan was sent; request paths must only use keys and indexes");
        }
        Ok(())
    }
}
