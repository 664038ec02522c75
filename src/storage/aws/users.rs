//! Accounts in the main table: the user item under `USER#<id>`, and one claim item each for the
//! username and the email, written together in one transaction whose puts only succeed where no
//! item exists yet. That is how DynamoDB makes two attributes unique at once. The claims carry a
//! copy of the account, so a sign-in by username or email is one `GetItem`; the few changes an
//! account sees (its address confirmed or suppressed) update all three in one transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, TransactWriteItem, Update};

use super::Tables;
use super::item::{Item, PK, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::build_error;
use crate::domain::{Email, User, UserId, Username};
use crate::storage::{StorageError, StorageResult, UserStore};

pub struct DynamoUsers {
    tables: Tables,
}

impl DynamoUsers {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    async fn get_item(&self, pk: String, sk: &str) -> StorageResult<Option<User>> {
        let found = self.tables.get(key(pk, sk), false, "reading an account").await?;
        found.as_ref().map(user_from_item).transpose()
    }
}

pub fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}
pub const USER_SK: &str = "USER";
pub const CLAIM_SK: &str = "CLAIM";

fn username_pk(username: &Username) -> String {
    format!("USERNAME#{}", username.as_str())
}

/// The item that claims a username: a copy of the account, and the creator's subscriber count.
pub fn username_claim_key(username: &Username) -> Item {
    key(username_pk(username), CLAIM_SK)
}

pub fn email_pk(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}

/// The account's attributes, as kept on the user item and copied onto both claims.
fn user_attributes(user: &User, pk: String, sk: &str) -> Item {
    let mut item = key(pk, sk);
    item.insert("id".into(), s(user.id.to_string()));
    item.insert("username".into(), s(user.username.as_str()));
    item.insert("email".into(), s(user.email.as_str()));
    item.insert("password_hash".into(), s(&user.password_hash));
    item.insert("created_at".into(), n(user.created_at.unix_timestamp()));
    item.insert("email_verified".into(), AttributeValue::Bool(user.email_verified));
    item.insert("email_suppressed".into(), AttributeValue::Bool(user.email_suppressed));
    item
}

fn flag(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

pub fn user_from_item(item: &Item) -> StorageResult<User> {
    Ok(User {
        id: parse_s(item, "id", UserId::parse)?,
        username: parse_s(item, "username", Username::parse)?,
        email: parse_s(item, "email", Email::parse)?,
        password_hash: get_s(item, "password_hash")?.to_owned(),
        created_at: get_time(item, "created_at")?,
        email_verified: flag(item, "email_verified"),
        email_suppressed: flag(item, "email_suppressed"),
    })
}

#[async_trait]
impl UserStore for DynamoUsers {
    #[tracing::instrument(skip_all, fields(username = %user.username))]
    async fn create(&self, user: &User) -> StorageResult<()> {
        let table = &self.tables.main;
        let items = vec![
            put_if_new(table, user_attributes(user, user_pk(user.id), USER_SK))?,
            put_if_new(table, user_attributes(user, username_pk(&user.username), CLAIM_SK))?,
            put_if_new(table, user_attributes(user, email_pk(&user.email), CLAIM_SK))?,
        ];
        let error = match self.tables.transact(items, "creating an account").await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        // The reasons come in the order of the items: user, username claim, email claim (none:
        // not cancelled, but unanswered or refused).
        let failed = error.failed_conditions();
        if failed.is_empty() {
            return Err(error.into_storage_error());
        }
        let lost = |index: usize| failed.get(index) == Some(&true);
        if lost(1) {
            Err(StorageError::Conflict("username"))
        } else if lost(2) {
            Err(StorageError::Conflict("email"))
        } else if lost(0) {
            Err(StorageError::Conflict("user id"))
        } else {
            // Cancelled for another reason, such as a concurrent transaction on the same claim:
            // whichever claim now exists is the one this sign-up lost.
            if self.find_by_username(&user.username).await?.is_some() {
                return Err(StorageError::Conflict("username"));
            }
            if self.find_by_email(&user.email).await?.is_some() {
                return Err(StorageError::Conflict("email"));
            }
            Err(error.into_storage_error())
        }
    }

    async fn get(&self, id: UserId) -> StorageResult<Option<User>> {
        self.get_item(user_pk(id), USER_SK).await
    }

    async fn find_by_username(&self, username: &Username) -> StorageResult<Option<User>> {
        self.get_item(username_pk(username), CLAIM_SK).await
    }

    async fn find_by_email(&self, email: &Email) -> StorageResult<Option<User>> {
        self.get_item(email_pk(email), CLAIM_SK).await
    }

    async fn get_many(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let mut found = Vec::with_capacity(ids.len());
        // BatchGetItem takes 100 keys a request.
        for chunk in ids.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(|id| key(user_pk(*id), USER_SK)).collect();
            for _ in 0..5 {
                if keys.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder().set_keys(Some(keys)).build().map_err(build_error)?;
                let output = self
                    .tables
                    .dynamodb
                    .batch_get_item()
                    .request_items(&self.tables.main, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("reading accounts", e))?;
                let items = output.responses.and_then(|mut r| r.remove(&self.tables.main)).unwrap_or_default();
                for item in &items {
                    found.push(user_from_item(item)?);
                }
                // Under load DynamoDB may leave some keys for another request.
                keys = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.tables.main))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(StorageError::Unavailable("reading accounts: DynamoDB kept keys unprocessed".into()));
            }
        }
        Ok(found)
    }

    async fn mark_email_verified(&self, id: UserId) -> StorageResult<()> {
        let user = self.get(id).await?.ok_or(StorageError::NotFound)?;
        self.set_flag(&user, "email_verified").await
    }

    async fn suppress_email(&self, email: &Email) -> StorageResult<bool> {
        let Some(user) = self.find_by_email(email).await? else { return Ok(false) };
        self.set_flag(&user, "email_suppressed").await?;
        Ok(true)
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StorageResult<()> {
        // Consistent: the claims are rewritten from this copy.
        let user = self.tables.get(key(user_pk(id), USER_SK), true, "reading an account").await?;
        let user = user.as_ref().map(user_from_item).transpose()?.ok_or(StorageError::NotFound)?;
        let items = self.updates_of_all(&user, "SET password_hash = :hash", &[(":hash", s(password_hash))])?;
        self.transact_account(items, "changing a password").await
    }

    async fn change_email(&self, id: UserId, email: &Email) -> StorageResult<()> {
        let user = self.tables.get(key(user_pk(id), USER_SK), true, "reading an account").await?;
        let user = user.as_ref().map(user_from_item).transpose()?.ok_or(StorageError::NotFound)?;
        let set = "SET email = :email, email_verified = :yes, email_suppressed = :no";
        let values =
            [(":email", s(email.as_str())), (":yes", AttributeValue::Bool(true)), (":no", AttributeValue::Bool(false))];
        let mut items = self.updates_of_all(&user, set, &values)?;
        if user.email != *email {
            // The old claim goes and the new one is made: [user, username claim, old email claim,
            // new email claim], the last on the condition that no account has the address.
            let old = aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&self.tables.main)
                .set_key(Some(key(email_pk(&user.email), CLAIM_SK)))
                .build()
                .map_err(build_error)?;
            items[2] = TransactWriteItem::builder().delete(old).build();
            let moved = User { email: email.clone(), email_verified: true, email_suppressed: false, ..user };
            items.push(put_if_new(&self.tables.main, user_attributes(&moved, email_pk(email), CLAIM_SK))?);
        }
        match self.tables.transact(items, "changing an email address").await {
            Ok(()) => Ok(()),
            Err(e) => match e.failed_conditions().as_slice() {
                [_, _, _, true] => Err(StorageError::Conflict("email")),
                conditions if conditions.contains(&true) => Err(StorageError::NotFound),
                _ => Err(e.into_storage_error()),
            },
        }
    }
}

impl DynamoUsers {
    /// Sets a flag on the account and both its claims, in one transaction.
    async fn set_flag(&self, user: &User, name: &str) -> StorageResult<()> {
        let set = format!("SET {name} = :yes");
        let items = self.updates_of_all(user, &set, &[(":yes", AttributeValue::Bool(true))])?;
        self.transact_account(items, "updating an account").await
    }

    /// One update for each of the account's three copies (the user item, the username claim,
    /// the email claim, in that order), each on the condition that it exists.
    fn updates_of_all(
        &self,
        user: &User,
        expression: &str,
        values: &[(&str, AttributeValue)],
    ) -> StorageResult<Vec<TransactWriteItem>> {
        let mut items = Vec::with_capacity(4);
        for (pk, sk) in
            [(user_pk(user.id), USER_SK), (username_pk(&user.username), CLAIM_SK), (email_pk(&user.email), CLAIM_SK)]
        {
            let mut update = Update::builder()
                .table_name(&self.tables.main)
                .set_key(Some(key(pk, sk)))
                .update_expression(expression)
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK);
            for (name, value) in values {
                update = update.expression_attribute_values(*name, value.clone());
            }
            items.push(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build());
        }
        Ok(items)
    }

    async fn transact_account(&self, items: Vec<TransactWriteItem>, what: &str) -> StorageResult<()> {
        match self.tables.transact(items, what).await {
            Ok(()) => Ok(()),
            Err(e) if e.failed_conditions().contains(&true) => Err(StorageError::NotFound),
            Err(e) => Err(e.into_storage_error()),
        }
    }
}
