//! One page of a DynamoDB Query, with the cursor convention every list of this backend shares.
//!
//! A page asks for one item more than it returns: that extra item says whether another page
//! exists, so the last page never hands out a cursor to an empty one. The cursor is the key of
//! the last item returned (the table's key plus the index's, which is what `ExclusiveStartKey`
//! wants), written as JSON. The web layer signs it before it leaves the server; here it is also
//! checked to belong to the same list, so a cursor of another list is `InvalidCursor`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, PK, SK, sdk_error};
use crate::storage::{Cursor, Page, PageRequest, StorageError, StorageResult};

/// Which key a list is read through: the table's own, or one of the overloaded indexes.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub index: Option<&'static str>,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub const TABLE: Access = Access { index: None, pk: PK, sk: SK };

impl Access {
    pub const fn gsi(index: &'static str, pk: &'static str, sk: &'static str) -> Self {
        Self { index: Some(index), pk, sk }
    }

    /// The attributes of an item's position in this list.
    fn position_names(&self) -> Vec<&'static str> {
        let mut names = vec![PK, SK];
        if self.index.is_some() {
            names.extend([self.pk, self.sk]);
        }
        names
    }

    /// Each key attribute as "S:value" or "N:value" (the index's sort key may be a number).
    fn cursor_of(&self, item: &Item) -> StorageResult<Cursor> {
        let mut position = BTreeMap::new();
        for name in self.position_names() {
            let value = match item.get(name) {
                Some(AttributeValue::S(v)) => format!("S:{v}"),
                Some(AttributeValue::N(v)) => format!("N:{v}"),
                _ => return Err(super::item::corrupt(name, "key attribute missing")),
            };
            position.insert(name, value);
        }
        serde_json::to_string(&position).map(Cursor).map_err(|e| StorageError::Other(e.into()))
    }

    /// The `ExclusiveStartKey` for `cursor`, if it is a position in the list under `partition`.
    fn start_key(&self, cursor: &Cursor, partition: &str) -> StorageResult<Item> {
        let position: BTreeMap<String, String> =
            serde_json::from_str(&cursor.0).map_err(|_| StorageError::InvalidCursor)?;
        let names = self.position_names();
        let complete = position.len() == names.len() && names.iter().all(|n| position.contains_key(*n));
        if !complete || position.get(self.pk).and_then(|v| v.strip_prefix("S:")) != Some(partition) {
            return Err(StorageError::InvalidCursor);
        }
        position
            .into_iter()
            .map(|(name, value)| {
                let attribute = match value.split_at_checked(2) {
                    Some(("S:", text)) => AttributeValue::S(text.to_owned()),
                    Some(("N:", number)) if number.parse::<u128>().is_ok() => AttributeValue::N(number.to_owned()),
                    _ => return Err(StorageError::InvalidCursor),
                };
                Ok((name, attribute))
            })
            .collect()
    }
}

/// Runs `query` (its key condition already set, with `:pk` bound to `partition`) for one page.
pub async fn page<T>(
    query: QueryFluentBuilder,
    access: Access,
    partition: &str,
    request: &PageRequest,
    newest_first: bool,
    what: &str,
    parse: impl Fn(&Item) -> StorageResult<T>,
) -> StorageResult<Page<T>> {
    let start = request.after.as_ref().map(|c| access.start_key(c, partition)).transpose()?;
    let output = query
        .set_index_name(access.index.map(str::to_owned))
        .scan_index_forward(!newest_first)
        .limit(i32::try_from(request.limit + 1).unwrap_or(i32::MAX))
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| sdk_error(what, e))?;
    let mut items = output.items.unwrap_or_default();
    let next = if items.len() > request.limit {
        items.truncate(request.limit);
        items.last().map(|last| access.cursor_of(last)).transpose()?
    } else {
        None
    };
    Ok(Page { items: items.iter().map(parse).collect::<StorageResult<_>>()?, next })
}
