//! Deleting an account on DynamoDB. Nothing bounds how much an account owns, so this is a
//! sequence of steps rather than one transaction (which takes 100 actions): each step removes
//! what it finds, and the account's own items go last, so a deletion that fails part way is
//! finished by running it again. Each kind of thing is found by key, never by a Scan: comments
//! and shared templates through gsi2 (`COMMENTS_BY#`, `TEMPLATES_OF#`), subscriptions through
//! the usual lists, notifications and API-token listings in the account's own partitions.
//! One-time tokens are keyed by their hash alone and expire within 48 hours; a link whose
//! account is gone is refused.

use async_trait::async_trait;

use super::Tables;
use super::comments::{BY_AUTHOR, author_pk, comment_from_item};
use super::item::{Item, PK, SK, get_key, key};
use super::subscriptions::DynamoSubscriptions;
use super::templates::{BY_OWNER, owner_pk};
use super::users::{CLAIM_SK, email_pk, user_pk, username_claim_key};
use crate::domain::User;
use crate::storage::{
    AccountStore, BlobKey, CommentStore, PageRequest, StorageError, StorageResult, SubscriptionStore, UserStore,
};

pub struct DynamoAccounts {
    tables: Tables,
}

impl DynamoAccounts {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    /// Their comments, through the comment store, so each meme's count and newest comments
    /// stay right. (Comments made before the author index existed are not found.)
    async fn delete_comments(&self, user: &User) -> StorageResult<()> {
        let query = self.tables.query_partition(BY_AUTHOR, &author_pk(user.id));
        let found = self.tables.query_all(query, "listing an account's comments").await?;
        let comments = super::comments::DynamoComments::new(self.tables.clone());
        for item in &found {
            let comment = comment_from_item(item)?;
            match comments.delete(comment.meme_id, comment.id).await {
                Ok(()) | Err(StorageError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Both ways, through the subscription store, so subscriber counts and unsubscribe links
    /// go with them.
    async fn delete_subscriptions(&self, user: &User) -> StorageResult<()> {
        let subscriptions = DynamoSubscriptions::new(self.tables.clone());
        let users = super::users::DynamoUsers::new(self.tables.clone());
        let mut after = None;
        loop {
            let page = subscriptions.following(user.id, PageRequest::after(after, PageRequest::MAX_LIMIT)).await?;
            for followed in &page.items {
                if let Some(creator) = users.find_by_username(&followed.creator).await? {
                    subscriptions.unsubscribe(&creator, user.id).await?;
                }
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        let mut after = None;
        loop {
            let page = subscriptions.subscribers(user, PageRequest::after(after, PageRequest::MAX_LIMIT)).await?;
            for subscriber in &page.items {
                subscriptions.unsubscribe(user, subscriber.id).await?;
            }
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Their shared templates; returns the templates' media keys.
    async fn delete_templates(&self, user: &User) -> StorageResult<Vec<BlobKey>> {
        let query = self.tables.query_partition(BY_OWNER, &owner_pk(user.id));
        let found = self.tables.query_all(query, "listing an account's shared templates").await?;
        let mut media = Vec::with_capacity(found.len() * 2);
        for item in &found {
            media.push(get_key(item, "original_key")?);
            media.push(get_key(item, "thumb_key")?);
        }
        self.tables
            .batch_delete(found.iter().map(table_key).collect(), "deleting an account's shared templates")
            .await?;
        Ok(media)
    }

    /// Every item of a partition of the main table.
    async fn delete_partition(&self, partition: &str, what: &str) -> StorageResult<()> {
        let query = self.tables.query_partition(super::query::TABLE, partition).projection_expression("#pk, #sk");
        let query = query.expression_attribute_names("#sk", SK);
        let found = self.tables.query_all(query, what).await?;
        self.tables.batch_delete(found, what).await
    }
}

/// The table key of an item read from an index (which carries the index's keys too).
fn table_key(item: &Item) -> Item {
    item.iter().filter(|(name, _)| *name == PK || *name == SK).map(|(n, v)| (n.clone(), v.clone())).collect()
}

#[async_trait]
impl AccountStore for DynamoAccounts {
    #[tracing::instrument(skip_all, fields(username = %user.username))]
    async fn delete_account(&self, user: &User) -> StorageResult<Vec<BlobKey>> {
        self.delete_comments(user).await?;
        self.delete_subscriptions(user).await?;
        self.delete_partition(&format!("INBOX#{}", user.id), "deleting an account's notifications").await?;
        let media = self.delete_templates(user).await?;
        // The API tokens' lookups, then the account's partition: the user item and the
        // tokens' listings.
        let tokens = super::api_tokens::DynamoApiTokens::new(self.tables.clone());
        for token in crate::storage::ApiTokenStore::list(&tokens, user.id).await? {
            crate::storage::ApiTokenStore::revoke(&tokens, user.id, token.id).await?;
        }
        // The claims first: once they are gone nobody can sign in with the account.
        let claims = vec![username_claim_key(&user.username), key(email_pk(&user.email), CLAIM_SK)];
        self.tables.batch_delete(claims, "deleting an account's username and email").await?;
        self.delete_partition(&user_pk(user.id), "deleting an account").await?;
        Ok(media)
    }
}
