//! Hits and misses of the engine's caches, counted for the metrics endpoint (a relaxed
//! atomic increment per lookup: nothing a render would notice).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct HitCounts {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HitCounts {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn report(&self, cache: &'static str) -> CacheReport {
        CacheReport { cache, hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }
}

/// One cache's lookups since start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheReport {
    pub cache: &'static str,
    pub hits: u64,
    pub misses: u64,
}
