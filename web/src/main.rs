//! Placeholder for the Leptos web app (built by Trunk from the root `index.html`); the
//! web-app issue replaces it. It proves cairn-core links into the browser build.

fn main() {
    let empty = cairn_core::Manifest::new().digest();
    println!("cairn web app placeholder; empty artifact digest {empty}");
}
