//! Sessions in their own table, keyed by the (hashed) session id. DynamoDB's TTL deletes items
//! whose `expires_at` has passed, but only within a day or two, so `load` also ignores expired
//! items itself.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use time::OffsetDateTime;

use super::Tables;
use super::item::{Item, error_code, get_b, get_s, get_time, n, parse_s, s, sdk_error};
use super::resources::{SESSION_ID, SESSION_TTL_ATTRIBUTE, SESSION_USER, SESSIONS_BY_USER};
use crate::domain::UserId;
use crate::storage::{SessionRecord, SessionStore, StorageError, StorageResult};

pub struct DynamoSessions {
    tables: Tables,
}

impl DynamoSessions {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    fn key(id: &str) -> Item {
        HashMap::from([(SESSION_ID.to_owned(), s(id))])
    }
}

fn session_item(record: &SessionRecord) -> Item {
    let mut item = DynamoSessions::key(&record.id);
    item.insert("data".into(), aws_sdk_dynamodb::types::AttributeValue::B(Blob::new(record.data.clone())));
    item.insert(SESSION_TTL_ATTRIBUTE.into(), n(record.expires_at.unix_timestamp()));
    // Only signed-in sessions carry it, so only they are in the (sparse) index by user.
    if let Some(user) = record.user {
        item.insert(SESSION_USER.into(), s(user.to_string()));
    }
    item
}

#[async_trait]
impl SessionStore for DynamoSessions {
    async fn insert(&self, record: &SessionRecord) -> StorageResult<()> {
        let result = self
            .tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(record)))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", SESSION_ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                Err(StorageError::Conflict("session id"))
            }
            Err(e) => Err(sdk_error("storing a new session", e)),
        }
    }

    async fn save(&self, record: &SessionRecord) -> StorageResult<()> {
        self.tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.sessions)
            .set_item(Some(session_item(record)))
            .send()
            .await
            .map_err(|e| sdk_error("saving a session", e))?;
        Ok(())
    }

    async fn load(&self, id: &str) -> StorageResult<Option<SessionRecord>> {
        let found = self
            .tables
            .dynamodb
            .get_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(Self::key(id)))
            // A session saved by another instance a moment ago must be seen (sign-in, then redirect).
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("loading a session", e))?;
        let Some(item) = found.item() else { return Ok(None) };
        let expires_at = get_time(item, SESSION_TTL_ATTRIBUTE)?;
        if expires_at <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        let user = match item.get(SESSION_USER) {
            Some(_) => Some(parse_s(item, SESSION_USER, UserId::parse)?),
            None => None,
        };
        Ok(Some(SessionRecord { id: id.to_owned(), data: get_b(item, "data")?.to_vec(), expires_at, user }))
    }

    async fn delete(&self, id: &str) -> StorageResult<()> {
        self.tables
            .dynamodb
            .delete_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(Self::key(id)))
            .send()
            .await
            .map_err(|e| sdk_error("deleting a session", e))?;
        Ok(())
    }

    async fn delete_for_user(&self, user: UserId, keep: Option<&str>) -> StorageResult<u64> {
        // An index holds only keys (KEYS_ONLY), and a user has a handful of sessions.
        let mut ids = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .tables
                .dynamodb
                .query()
                .table_name(&self.tables.sessions)
                .index_name(SESSIONS_BY_USER)
                .key_condition_expression("#user = :user")
                .expression_attribute_names("#user", SESSION_USER)
                .expression_attribute_values(":user", s(user.to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("listing an account's sessions", e))?;
            for item in page.items() {
                ids.push(get_s(item, SESSION_ID)?.to_owned());
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let mut removed = 0;
        for id in ids.iter().filter(|id| Some(id.as_str()) != keep) {
            self.delete(id).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Nothing to do: the table's TTL removes expired items, and `load` never returns them.
    async fn delete_expired(&self, _now: OffsetDateTime) -> StorageResult<u64> {
        Ok(0)
    }
}
