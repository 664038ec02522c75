//! The builtin template catalog: starter images embedded in the binary, each with a name, a
//! default box layout and its attribution (see `meme-templates/README.md`).

use super::spec::{MemeSpec, TextBox, VAlign};

/// Where a template wants a caption, in fractions of the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxSlot {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub valign: VAlign,
}

const TOP: BoxSlot = BoxSlot {
    x: 0.02,
    y: 0.02,
    w: 0.96,
    h: 0.25,
    valign: VAlign::Top,
};
const BOTTOM: BoxSlot = BoxSlot {
    x: 0.02,
    y: 0.73,
    w: 0.96,
    h: 0.25,
    valign: VAlign::Bottom,
};
/// For wide, short pictures: slimmer bands so the subject stays visible.
const TOP_WIDE: BoxSlot = BoxSlot {
    x: 0.02,
    y: 0.02,
    w: 0.96,
    h: 0.22,
    valign: VAlign::Top,
};
const BOTTOM_WIDE: BoxSlot = BoxSlot {
    x: 0.02,
    y: 0.76,
    w: 0.96,
    h: 0.22,
    valign: VAlign::Bottom,
};

/// A starter template.
#[derive(Debug)]
pub struct Template {
    /// Stable id used in URLs, JSON and `Source::Template` (`"chelsea"`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// The original image file.
    pub bytes: &'static [u8],
    pub width: u32,
    pub height: u32,
    /// Default caption boxes, in order.
    pub slots: &'static [BoxSlot],
    /// Who made the picture and under what terms (shown on the template page).
    pub attribution: &'static str,
}

impl Template {
    /// A classic spec with `captions` in this template's boxes. With more captions than
    /// boxes, the captions are spread down the image instead.
    pub fn spec<S: AsRef<str>>(&self, captions: &[S]) -> MemeSpec {
        if captions.len() > self.slots.len() {
            return MemeSpec::classic(captions);
        }
        let mut spec = MemeSpec::classic(&[] as &[&str]);
        spec.boxes = self
            .slots
            .iter()
            .zip(captions)
            .map(|(s, c)| TextBox {
                valign: s.valign,
                ..TextBox::at(c.as_ref(), s.x, s.y, s.w, s.h)
            })
            .collect();
        spec
    }
}

static CATALOG: [Template; 8] = [
    Template {
        id: "chelsea",
        name: "Chelsea the Cat",
        bytes: include_bytes!("../../meme-templates/chelsea.png"),
        width: 451,
        height: 300,
        slots: &[TOP_WIDE, BOTTOM_WIDE],
        attribution: "Chelsea the cat, by Stefan van der Walt, CC0 (scikit-image data)",
    },
    Template {
        id: "astronaut",
        name: "Astronaut",
        bytes: include_bytes!("../../meme-templates/astronaut.png"),
        width: 512,
        height: 512,
        slots: &[TOP, BOTTOM],
        attribution: "Eileen Collins, NASA, public domain (scikit-image data)",
    },
    Template {
        id: "coffee",
        name: "Coffee",
        bytes: include_bytes!("../../meme-templates/coffee.png"),
        width: 600,
        height: 400,
        slots: &[TOP_WIDE, BOTTOM_WIDE],
        attribution: "Rachel Michetti, CC0, courtesy of Pikolo Espresso Bar (scikit-image data)",
    },
    Template {
        id: "rocket",
        name: "Rocket Launch",
        bytes: include_bytes!("../../meme-templates/rocket.jpg"),
        width: 640,
        height: 427,
        slots: &[TOP_WIDE, BOTTOM_WIDE],
        attribution: "SpaceX Falcon 9 launch, public domain (scikit-image data)",
    },
    Template {
        id: "deep-field",
        name: "Hubble Deep Field",
        bytes: include_bytes!("../../meme-templates/hubble_deep_field.jpg"),
        width: 1000,
        height: 872,
        slots: &[TOP, BOTTOM],
        attribution: "NASA Hubble eXtreme Deep Field, public domain (scikit-image data)",
    },
    Template {
        id: "cameraman",
        name: "Cameraman",
        bytes: include_bytes!("../../meme-templates/camera.png"),
        width: 512,
        height: 512,
        slots: &[TOP, BOTTOM],
        attribution: "Lav Varshney, CC0 (scikit-image data)",
    },
    Template {
        id: "coins",
        name: "Coins",
        bytes: include_bytes!("../../meme-templates/coins.png"),
        width: 384,
        height: 303,
        slots: &[TOP_WIDE, BOTTOM_WIDE],
        attribution: "Brooklyn Museum, no known copyright restrictions (scikit-image data)",
    },
    Template {
        id: "grace-hopper",
        name: "Grace Hopper",
        bytes: include_bytes!("../../meme-templates/grace_hopper.jpg"),
        width: 512,
        height: 600,
        slots: &[TOP, BOTTOM],
        attribution: "US Navy portrait of Grace Hopper, US government work, public domain (matplotlib sample data)",
    },
];

/// Every builtin template, in gallery order.
pub fn catalog() -> &'static [Template] {
    &CATALOG
}

/// A builtin template by id.
pub fn find(id: &str) -> Option<&'static Template> {
    CATALOG.iter().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Limits, probe};

    #[test]
    fn every_template_decodes_to_its_declared_size() {
        for t in catalog() {
            let p = probe(t.bytes, &Limits::default()).unwrap();
            assert_eq!((p.width, p.height), (t.width, t.height), "{}", t.id);
            assert!(find(t.id).is_some());
        }
    }

    #[test]
    fn template_spec_fills_slots_then_spreads() {
        let t = find("chelsea").unwrap();
        let spec = t.spec(&["a", "b"]);
        assert_eq!(spec.boxes.len(), 2);
        assert_eq!(spec.boxes[1].y, BOTTOM_WIDE.y);
        assert_eq!(t.spec(&["a", "b", "c"]).boxes.len(), 3);
    }
}
