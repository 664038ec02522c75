//! Counts the DynamoDB requests each page view makes (SPEC §7: at most 3, and never a Scan).
//!
//! An SDK interceptor sees every attempt the DynamoDB client sends. The web layer runs each
//! request inside `scope`, a task-local tally, and logs the total when the response is ready;
//! requests made outside a scope (background workers) are only counted globally.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
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

/// Every DynamoDB request this process made (for logs and tests of background work).
static TOTAL: AtomicU64 = AtomicU64::new(0);

pub fn total_requests() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Runs `work` with a fresh tally and returns both.
pub async fn scope<F: Future>(work: F) -> (F::Output, Arc<RequestTally>) {
    let tally = Arc::new(RequestTally::default());
    let output = CURRENT.scope(tally.clone(), work).await;
    (output, tally)
}

/// The interceptor installed on the DynamoDB client.
#[derive(Debug)]
pub struct Meter;

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "DynamoDbRequestMeter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("unknown");
        let scan = operation == "Scan";
        TOTAL.fetch_add(1, Ordering::Relaxed);
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
