//! The packs an upload to a project sent, kept in IndexedDB until its blobs are assembled: a
//! page reloaded mid-upload offers them to the registry (which answers which chunks they hold)
//! instead of sending them again. The same idea as the CLI's journal (`docs/chunking.md`).

use std::cell::RefCell;
use std::rc::Rc;

use cairn_core::pack::PackId;
use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::idb;

fn key(entity: &str, project: &str) -> String {
    format!("{entity}/{project}")
}

/// The packs noted for this project (oldest first).
pub async fn packs(entity: &str, project: &str) -> Vec<PackId> {
    let Some(list) = idb::get(idb::PACKS, &key(entity, project))
        .await
        .and_then(|v| v.dyn_into::<Array>().ok())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| v.as_string()?.parse().ok())
        .collect()
}

/// The upload finished: its packs are part of blobs the project holds.
pub async fn clear(entity: &str, project: &str) {
    idb::delete(idb::PACKS, &key(entity, project)).await;
}

#[derive(Debug, Default)]
struct State {
    packs: Vec<PackId>,
    saving: bool,
    dirty: bool,
}

/// One upload's journal: packs are noted the moment the registry acknowledges them, and saved
/// whole, one save at a time (a later list never loses to an earlier one).
#[derive(Clone, Debug)]
pub struct Journal {
    key: Rc<str>,
    state: Rc<RefCell<State>>,
}

impl Journal {
    /// A journal that starts from the packs already noted.
    pub fn new(entity: &str, project: &str, packs: Vec<PackId>) -> Self {
        Self {
            key: key(entity, project).into(),
            state: Rc::new(RefCell::new(State {
                packs,
                ..State::default()
            })),
        }
    }

    /// Note a pack the registry acknowledged (saved in the background).
    pub fn note(&self, pack: PackId) {
        {
            let mut s = self.state.borrow_mut();
            if s.packs.contains(&pack) {
                return;
            }
            s.packs.push(pack);
            s.dirty = true;
            if s.saving {
                return;
            }
            s.saving = true;
        }
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let list: Array = {
                    let mut s = me.state.borrow_mut();
                    if !s.dirty {
                        s.saving = false;
                        return;
                    }
                    s.dirty = false;
                    s.packs
                        .iter()
                        .map(|p| JsValue::from_str(&p.to_string()))
                        .collect()
                };
                idb::put(idb::PACKS, &me.key, &list).await;
            }
        });
    }
}
