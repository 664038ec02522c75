//! The engine's source, compiled on its own for fuzzing (no web stack).
#![allow(dead_code)]

#[path = "../../src/render/mod.rs"]
pub mod render;
