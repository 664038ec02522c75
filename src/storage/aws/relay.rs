//! The outbox relay: "meme published" and "meme deleted" events, written in their meme's
//! transaction as `OUTBOX#<meme>` items (due in gsi1 under `OUTBOX`), published to the events
//! topic, which feeds the delivery queue.
//!
//! A relay leases an event with a conditional update of its due key (two instances never take
//! the same one), publishes it, then deletes it. A crash in between leaves the event to be
//! taken again when its lease runs out: nothing is lost. The one window for a second publish is
//! a crash between SNS accepting the message and the delete, and the delivery worker's ledger
//! makes that harmless (each email is claimed before it is sent).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use time::OffsetDateTime;

use super::Tables;
use super::item::{PK, error_code, get_n, get_s, key, parse_s, s, sdk_error};
use super::notifications::{DUE_PK, DUE_SK, EVENT_SK, due_key, event_key};
use crate::domain::{Job, MemeDeleted, MemeId, MemePublished, UserId, Username};
use crate::storage::{EventRelay, StorageError, StorageResult};

/// How long a relay holds an event before another may take it.
const LEASE: time::Duration = time::Duration::seconds(60);
const BATCH: i32 = 25;

pub struct SnsRelay {
    tables: Tables,
    sns: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsRelay {
    pub fn new(tables: Tables, sns: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { tables, sns, topic_arn }
    }
}

#[async_trait]
impl EventRelay for SnsRelay {
    async fn relay_due(&self, now: OffsetDateTime) -> StorageResult<usize> {
        let due = self
            .tables
            .dynamodb
            .query()
            .table_name(&self.tables.main)
            .index_name("gsi1")
            .key_condition_expression("#pk = :pk AND #sk <= :now")
            .expression_attribute_names("#pk", DUE_PK)
            .expression_attribute_names("#sk", DUE_SK)
            .expression_attribute_values(":pk", s("OUTBOX"))
            // "~" sorts after every id character, so everything due up to `now` is included.
            .expression_attribute_values(":now", s(format!("{:012}#~", now.unix_timestamp().max(0))))
            .limit(BATCH)
            .send()
            .await
            .map_err(|e| sdk_error("looking for due events", e))?;
        let mut relayed = 0;
        for event in due.items() {
            let meme = get_s(event, "meme_id")?;
            let lease = due_key(now + LEASE, meme);
            let leased = self
                .tables
                .dynamodb
                .update_item()
                .table_name(&self.tables.main)
                .set_key(Some(key(get_s(event, PK)?, EVENT_SK)))
                .update_expression("SET #due = :leased")
                .condition_expression("#due = :seen")
                .expression_attribute_names("#due", DUE_SK)
                .expression_attribute_values(":leased", s(lease.clone()))
                .expression_attribute_values(":seen", s(get_s(event, DUE_SK)?))
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            let event = match leased {
                Ok(leased) => leased.attributes.unwrap_or_default(),
                Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => continue,
                Err(e) => return Err(sdk_error("leasing an event", e)),
            };
            let (meme_id, creator_id, creator) = (
                parse_s(&event, "meme_id", MemeId::parse)?,
                parse_s(&event, "creator_id", UserId::parse)?,
                parse_s(&event, "creator", Username::parse)?,
            );
            let job = match event.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) {
                Some("deleted") => Job::MemeDeleted(MemeDeleted {
                    meme_id,
                    creator_id,
                    creator,
                    media: parse_s(&event, "media", |m| serde_json::from_str(m))?,
                }),
                _ => Job::MemePublished(MemePublished {
                    meme_id,
                    creator_id,
                    creator,
                    thumb_key: get_s(&event, "thumb_key")?.to_owned(),
                    created_at: get_n(&event, "created_at")?,
                }),
            };
            let body = serde_json::to_string(&job).map_err(|e| StorageError::Other(e.into()))?;
            self.sns
                .publish()
                .topic_arn(&self.topic_arn)
                .message(body)
                .send()
                .await
                .map_err(|e| sdk_error("publishing a meme event", e))?;
            // Only the event as leased: if the meme was deleted meanwhile, its "deleted" event
            // took the item's place (with a new due time) and must stay to be relayed next.
            let removed = self
                .tables
                .dynamodb
                .delete_item()
                .table_name(&self.tables.main)
                .set_key(Some(event_key(meme_id)))
                .condition_expression("#due = :leased")
                .expression_attribute_names("#due", DUE_SK)
                .expression_attribute_values(":leased", s(lease))
                .send()
                .await;
            match removed {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {}
                Err(e) => return Err(sdk_error("removing a relayed event", e)),
            }
            relayed += 1;
        }
        Ok(relayed)
    }
}
