//! Mounts the app (built for the browser by Trunk from the root `index.html`).

fn main() {
    leptos::mount::mount_to_body(cairn_web::App);
}
