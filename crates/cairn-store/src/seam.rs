//! A test seam: a place in garbage collection or in an upload where a test can hold the code
//! still while it makes something else happen, to exercise one interleaving on purpose.
//! Production code carries the empty seam, which does nothing.

use std::sync::Arc;

use futures::future::BoxFuture;

/// Where the code waits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// Garbage collection: the metadata step is committed (holdings forgotten, digests
    /// doomed), no byte is deleted yet.
    Forgotten,
    /// An upload: its bytes are published (an assembly: verified), its holding is not
    /// recorded yet.
    Published,
    /// Garbage collection: packs no recipe names are doomed, none is deleted yet.
    PacksDoomed,
}

type Hook = Arc<dyn Fn(Step) -> BoxFuture<'static, ()> + Send + Sync>;

/// A seam: empty (the default), or a hook awaited at every [`Step`].
#[derive(Clone, Default)]
pub struct Seam(Option<Hook>);

impl Seam {
    /// A seam that awaits `hook(step)` at every step.
    pub fn new(hook: impl Fn(Step) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(hook)))
    }

    /// Reached `step`: wait for the hook, if any.
    pub async fn at(&self, step: Step) {
        if let Some(hook) = &self.0 {
            hook(step).await;
        }
    }
}

impl std::fmt::Debug for Seam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Seam(hook)"
        } else {
            "Seam(none)"
        })
    }
}
