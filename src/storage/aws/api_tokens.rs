//! Personal API tokens in the main table, as two items written and deleted together:
//!
//! | item | `pk` | `sk` | |
//! |---|---|---|---|
//! | the lookup by secret | `APITOKEN#<sha256 of the secret>` | `APITOKEN` | `id`, `user_id`, `name`, `created_at` |
//! | the owner's listing | `USER#<user id>` | `APITOKEN#<token id>` | `hash`, `name`, `created_at` |
//!
//! A request with a token costs one GetItem (strongly consistent, so a revoked token stops at
//! once); the account page lists a user's tokens with one Query.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::Tables;
use super::item::{Item, PK, SK, corrupt, get_s, get_time, key, n, parse_s, put_if_new, s};
use super::memes::build_error;
use super::query::TABLE;
use super::users::user_pk;
use crate::domain::{TokenId, UserId};
use crate::storage::{ApiToken, ApiTokenStore, StorageError, StorageResult};

const LOOKUP_SK: &str = "APITOKEN";
const LISTING_PREFIX: &str = "APITOKEN#";

fn lookup_key(hash: &str) -> Item {
    key(format!("APITOKEN#{hash}"), LOOKUP_SK)
}

fn listing_key(user: UserId, id: TokenId) -> Item {
    key(user_pk(user), format!("{LISTING_PREFIX}{id}"))
}

pub struct DynamoApiTokens {
    tables: Tables,
}

impl DynamoApiTokens {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }
}

fn delete(table: &str, key: Item) -> StorageResult<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

#[async_trait]
impl ApiTokenStore for DynamoApiTokens {
    async fn create(&self, token: &ApiToken, secret_hash: &str) -> StorageResult<()> {
        let table = &self.tables.main;
        let mut lookup = lookup_key(secret_hash);
        lookup.insert("id".into(), s(token.id.to_string()));
        lookup.insert("user_id".into(), s(token.user_id.to_string()));
        lookup.insert("name".into(), s(&token.name));
        lookup.insert("created_at".into(), n(token.created_at.unix_timestamp()));
        let mut listing = listing_key(token.user_id, token.id);
        listing.insert("hash".into(), s(secret_hash));
        listing.insert("name".into(), s(&token.name));
        listing.insert("created_at".into(), n(token.created_at.unix_timestamp()));
        let items = vec![put_if_new(table, lookup)?, put_if_new(table, listing)?];
        match self.tables.transact(items, "creating an API token").await {
            Ok(()) => Ok(()),
            Err(e) if e.failed_conditions().contains(&true) => Err(StorageError::Conflict("token")),
            Err(e) => Err(e.into_storage_error()),
        }
    }

    async fn list(&self, user: UserId) -> StorageResult<Vec<ApiToken>> {
        let query = self
            .tables
            .query_partition(TABLE, &user_pk(user))
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":prefix", s(LISTING_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true);
        let items = self.tables.query_all(query, "listing API tokens").await?;
        items
            .iter()
            .map(|item| {
                let sk = get_s(item, SK)?;
                let id = sk.strip_prefix(LISTING_PREFIX).ok_or_else(|| corrupt("api token", "bad sort key"))?;
                Ok(ApiToken {
                    id: TokenId::parse(id).map_err(|e| corrupt("api token", e))?,
                    user_id: user,
                    name: get_s(item, "name")?.to_owned(),
                    created_at: get_time(item, "created_at")?,
                })
            })
            .collect()
    }

    async fn revoke(&self, user: UserId, id: TokenId) -> StorageResult<bool> {
        let Some(listing) = self.tables.get(listing_key(user, id), true, "reading an API token").await? else {
            return Ok(false);
        };
        let table = &self.tables.main;
        let items = vec![delete(table, listing_key(user, id))?, delete(table, lookup_key(get_s(&listing, "hash")?))?];
        match self.tables.transact(items, "revoking an API token").await {
            Ok(()) => Ok(true),
            // Revoked at the same moment by another request.
            Err(e) if e.failed_conditions().contains(&true) => Ok(false),
            Err(e) => Err(e.into_storage_error()),
        }
    }

    async fn find(&self, secret_hash: &str) -> StorageResult<Option<ApiToken>> {
        let found = self.tables.get(lookup_key(secret_hash), true, "reading an API token").await?;
        found
            .map(|item| {
                Ok(ApiToken {
                    id: parse_s(&item, "id", TokenId::parse)?,
                    user_id: parse_s(&item, "user_id", UserId::parse)?,
                    name: get_s(&item, "name")?.to_owned(),
                    created_at: get_time(&item, "created_at")?,
                })
            })
            .transpose()
    }
}
