//! Sign-in, the drop zone, progress and the (virtualised) file table.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api;
use crate::files::{self, Picked};
use crate::size::{exact, human_f64};
use crate::stage::{self, Meter};

/// Token entry (kept in local storage), or sign out.
#[component]
pub fn SignIn() -> impl IntoView {
    let signed_in = expect_context::<RwSignal<bool>>();
    let input = RwSignal::new(String::new());
    view! {
        <Show
            when=move || signed_in.get()
            fallback=move || view! {
                <form class="signin" on:submit=move |ev| {
                    ev.prevent_default();
                    api::set_token(input.get_untracked().trim());
                    signed_in.set(api::token().is_some());
                }>
                    <input type="password" placeholder="registry token" data-testid="token"
                        prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev))/>
                    <button type="submit">"Sign in"</button>
                </form>
            }
        >
            <button class="link" on:click=move |_| { api::set_token(""); signed_in.set(false); }>"Sign out"</button>
        </Show>
    }
}

/// A zone that takes dropped files and folders, and file and folder pickers.
#[component]
pub fn DropZone(on_files: Callback<Vec<Picked>>) -> impl IntoView {
    let over = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let accept = crate::embed::accept();
    let only = accept.clone();
    let take = Callback::new(move |files: Vec<Picked>| {
        let files = match &only {
            Some(types) => {
                let (ok, refused): (Vec<_>, Vec<_>) = files
                    .into_iter()
                    .partition(|f| crate::embed::accepts(types, &f.path));
                error.set((!refused.is_empty()).then(|| {
                    let names: Vec<&str> =
                        refused.iter().take(5).map(|f| f.path.as_str()).collect();
                    format!(
                        "{} file(s) left out: only {types} are taken here ({}{})",
                        refused.len(),
                        names.join(", "),
                        if refused.len() > 5 { ", …" } else { "" }
                    )
                }));
                ok
            }
            None => files,
        };
        if !files.is_empty() {
            on_files.run(files);
        }
    });
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        over.set(false);
        let found = files::dropped(&ev);
        leptos::task::spawn_local(async move {
            match found.await {
                Ok(found) => take.run(found),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_pick = move |ev: web_sys::Event| take.run(files::take_picked(&ev));
    view! {
        <div class="drop" class:over=move || over.get() data-testid="drop-zone"
            on:dragover=move |ev: web_sys::DragEvent| { ev.prevent_default(); over.set(true); }
            on:dragleave=move |_| over.set(false)
            on:drop=on_drop>
            <p>"Drop files or folders here, or "</p>
            <label class="pick">"choose files" <input type="file" multiple accept=accept on:change=on_pick/></label>
            <label class="pick">"choose a folder" <input type="file" multiple prop:webkitdirectory=true on:change=on_pick/></label>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </div>
    }
}

/// A progress line for one phase.
#[component]
pub fn ProgressLine(
    meter: RwSignal<Meter>,
    /// Read again at each progress step (it may change while work runs).
    label: Callback<(), String>,
    testid: &'static str,
) -> impl IntoView {
    // nothing is shown before the phase first starts
    view! {
        <div class="progress" data-testid=testid hidden=move || meter.with(|m| m.started_ms == 0.0)>
            <progress max=move || meter.get().total.max(1.0) value=move || meter.get().done></progress>
            <span>{move || format!("{} {}", label.run(()), meter.get().label())}</span>
        </div>
    }
}

/// Per-file progress of the files in flight (a handful at a time: the pool's and the uploads'
/// concurrency).
#[component]
pub fn FileRows(rows: stage::Rows) -> impl IntoView {
    view! {
        <ul class="file-progress" data-testid="file-progress">
            {move || rows.get().into_iter().map(|(path, (done, size))| view! {
                <li>
                    <progress max=size.max(1.0) value=done></progress>
                    <span class="path">{path}</span>
                    <span class="size" title=exact(size as u64)>{format!("{} / {}", human_f64(done), human_f64(size))}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// Rows drawn at once; the rest of a long list is only scrolled past, never rendered.
const WINDOW: usize = 80;
/// Pixel height of one row.
const ROW: f64 = 26.0;

/// A long list rendered a window at a time (smooth at 100,000 rows).
#[component]
pub fn Virtual<F, V>(count: Signal<usize>, row: F) -> impl IntoView
where
    F: Fn(usize) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let top = RwSignal::new(0.0f64);
    let first = move || ((top.get() / ROW) as usize).saturating_sub(10);
    view! {
        <div class="virtual" on:scroll=move |ev| {
            if let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) { top.set(el.scroll_top() as f64); }
        }>
            <div style:height=move || format!("{}px", count.get() as f64 * ROW) style="position:relative">
                {move || {
                    let start = first().min(count.get());
                    let end = (start + WINDOW).min(count.get());
                    let row = row.clone();
                    (start..end).map(move |i| view! {
                        <div class="row" style:top=format!("{}px", i as f64 * ROW)>{row(i)}</div>
                    }).collect_view()
                }}
            </div>
        </div>
    }
}
