//! Picture resolution: what a [`PictureChoice`] draws on, and the box layout it starts from.

use super::ServiceError;
use super::memes::Picture;
use super::requests::{PictureChoice, ProbedUpload};
use crate::domain::{Meme, MemeSource};
use crate::render::{self, MemeSpec};
use crate::storage::{BlobKey, Storage};

/// What a request draws on, and the geometry to start from.
pub struct Resolved {
    pub picture: Picture,
    /// The template a saved meme counts as a use of.
    pub template_id: Option<String>,
    /// A shared template's name, kept with the meme where the backend wants it.
    pub shared_template_name: Option<String>,
    /// The meme being remixed.
    pub parent: Option<Meme>,
    /// The boxes with the request's captions: a template's slots, the remixed meme's own boxes
    /// (when the number of captions is the same), or the classic layout.
    pub base: MemeSpec,
}

pub async fn resolve(storage: &Storage, choice: &PictureChoice, captions: &[String]) -> Result<Resolved, ServiceError> {
    match choice {
        PictureChoice::Remix(parent_id) => {
            let parent = storage
                .memes
                .get(*parent_id)
                .await?
                .ok_or_else(|| ServiceError::BadInput("The meme you are remixing no longer exists.".into()))?;
            let base = if parent.spec.boxes.len() == captions.len() {
                let mut spec = parent.spec.clone();
                for (b, c) in spec.boxes.iter_mut().zip(captions) {
                    b.text.clone_from(c);
                }
                spec
            } else {
                MemeSpec::classic(captions)
            };
            let (picture, template_id, shared_template_name) = match &parent.source {
                MemeSource::Template(id) => template(storage, id).await?,
                MemeSource::Upload { original_key } => (stored(storage, original_key).await?, None, None),
            };
            Ok(Resolved { picture, template_id, shared_template_name, parent: Some(parent), base })
        }
        PictureChoice::Upload(probed) => Ok(uploaded(probed.clone(), captions)),
        PictureChoice::Draft(draft) => {
            let probed = super::drafts::open(storage, draft, time::OffsetDateTime::now_utc()).await?;
            Ok(uploaded(probed, captions))
        }
        PictureChoice::Template(id) => {
            let (picture, template_id, shared_template_name) = template(storage, id).await?;
            let base = match render::templates::find(id) {
                Some(t) => t.spec(captions),
                None => MemeSpec::classic(captions),
            };
            Ok(Resolved { picture, template_id, shared_template_name, parent: None, base })
        }
    }
}

/// An upload (received now, or a draft's) with the classic layout.
fn uploaded(probed: ProbedUpload, captions: &[String]) -> Resolved {
    Resolved {
        picture: Picture::Upload(probed),
        template_id: None,
        shared_template_name: None,
        parent: None,
        base: MemeSpec::classic(captions),
    }
}

/// Builtin templates render from the engine's decoded cache; shared ones from their stored
/// original. Returns the picture, the template's id and, for a shared one, its name.
async fn template(storage: &Storage, id: &str) -> Result<(Picture, Option<String>, Option<String>), ServiceError> {
    if render::templates::find(id).is_some() {
        return Ok((Picture::Template(id.to_owned()), Some(id.to_owned()), None));
    }
    let unknown = || ServiceError::BadInput(format!("There is no template called {id:?}."));
    // Shared template ids are "u-" and a meme id; anything else needs no lookup to be unknown.
    if !id.starts_with("u-") || id.len() > 64 {
        return Err(unknown());
    }
    let shared = storage.templates.get(id).await?.ok_or_else(unknown)?;
    Ok((stored(storage, &shared.original_key).await?, Some(shared.id), Some(shared.name)))
}

async fn stored(storage: &Storage, key: &BlobKey) -> Result<Picture, ServiceError> {
    let gone = || ServiceError::BadInput("The original image of that meme is no longer available.".into());
    let blob = storage.blobs.get(key).await?.ok_or_else(gone)?;
    Ok(Picture::Stored(blob.bytes))
}
