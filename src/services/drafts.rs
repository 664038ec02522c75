//! Draft uploads (issue 15): the editor uploads a chosen picture once, then every preview and
//! the save name it by id. A draft belongs to the browser that made it, is as large as an
//! upload may be (`SKYHIGH_MAX_UPLOAD_MB`), and lives an hour. Its type is sniffed when it is
//! kept (what the app receives) and again whenever it is used (what went straight to storage
//! was never seen), and it is decoded with the same bounds as any upload: it becomes one.

use time::OffsetDateTime;

use super::ServiceError;
use super::requests::ProbedUpload;
use super::uploads::Upload;
use crate::domain::{DraftId, DraftOwner};
use crate::storage::{DirectUpload, DraftContent, Storage};

/// How long a draft may be used after it was made (or its direct upload was signed).
pub const LIFETIME: time::Duration = time::Duration::hours(1);

/// How long a signed direct upload may start: minutes, so a leaked form is soon worthless.
pub const DIRECT_UPLOAD_WINDOW: time::Duration = time::Duration::minutes(5);

/// A draft as a request names it: whose, which, and how large it may be.
#[derive(Debug, Clone)]
pub struct DraftRef {
    pub owner: DraftOwner,
    pub id: DraftId,
    pub max_bytes: usize,
}

/// What the browser was told after keeping a draft.
#[derive(Debug, Clone)]
pub struct Kept {
    pub id: DraftId,
    pub expires_at: OffsetDateTime,
}

/// A signed form to send a draft straight to storage, and the id it will have.
#[derive(Debug, Clone)]
pub struct Direct {
    pub id: DraftId,
    pub expires_at: OffsetDateTime,
    pub upload: DirectUpload,
}

pub const EXPIRED: &str = "That uploaded picture has expired (they are kept for an hour): choose the picture again.";
pub const UNKNOWN: &str = "That uploaded picture is not available in this browser: choose the picture again.";

fn too_large(max_bytes: usize) -> ServiceError {
    ServiceError::BadInput(format!(
        "That uploaded picture is too large. The limit is {} MB.",
        max_bytes / (1024 * 1024)
    ))
}

/// Keeps a received upload (its type already sniffed) as a draft of `owner`.
pub async fn keep(
    storage: &Storage,
    owner: &DraftOwner,
    upload: &ProbedUpload,
    now: OffsetDateTime,
) -> Result<Kept, ServiceError> {
    let id = DraftId::new(now + LIFETIME);
    storage.drafts.put(owner, &id, upload.upload.bytes().await?).await?;
    tracing::info!(size = upload.upload.len(), format = ?upload.format, "draft upload kept");
    Ok(Kept { expires_at: id.expires_at(), id })
}

/// A form for the browser to send a draft of `owner` straight to storage, where the backend
/// has one (aws: a presigned S3 POST); `None` means: post it to the app.
pub async fn direct(
    storage: &Storage,
    owner: &DraftOwner,
    max_bytes: usize,
    now: OffsetDateTime,
) -> Result<Option<Direct>, ServiceError> {
    let id = DraftId::new(now + LIFETIME);
    let upload = storage.drafts.direct_upload(owner, &id, max_bytes as u64, now + DIRECT_UPLOAD_WINDOW, now).await?;
    Ok(upload.map(|upload| Direct { expires_at: id.expires_at(), id, upload }))
}

/// The draft as an upload, if it is the asking browser's, live at `now` and within the limit.
pub async fn open(storage: &Storage, draft: &DraftRef, now: OffsetDateTime) -> Result<ProbedUpload, ServiceError> {
    if draft.id.is_expired(now) {
        return Err(ServiceError::BadInput(EXPIRED.into()));
    }
    match storage.drafts.get(&draft.owner, &draft.id, draft.max_bytes as u64).await? {
        DraftContent::Found(bytes) => ProbedUpload::sniff(Upload::from_bytes(bytes)).await,
        DraftContent::TooLarge => {
            tracing::warn!(event = "image_rejected", reason = "draft too large", "a draft larger than the limit");
            Err(too_large(draft.max_bytes))
        }
        DraftContent::Missing => Err(ServiceError::BadInput(UNKNOWN.into())),
    }
}
