//! A file's preview on the version page, read with a `Range` request so a large file costs only
//! its first bytes: text and code (first 64 KiB), CSV/TSV as a table (first 1,000 rows of the
//! first 256 KiB), JSON pretty-printed (whole up to 1 MiB, else as text), images (png, jpeg,
//! gif, webp, and SVG shown through `<img>`, where it cannot run script), Parquet as its schema,
//! row count and row groups from its footer (its last bytes; rows are not shown: reading them
//! needs Parquet's codecs, several times the app's size — `crate::parquet`).

use leptos::prelude::*;

use super::widgets::Virtual;
use crate::size::{exact, human as size};
use crate::{api, parquet};

const TEXT_HEAD: u64 = 64 << 10;
const TABLE_HEAD: u64 = 256 << 10;
const TABLE_ROWS: usize = 1000;
const JSON_WHOLE: u64 = 1 << 20;
const IMAGE_MAX: u64 = 16 << 20;

/// How a file is shown, by its extension.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Text,
    Json,
    Table(char),
    Image(&'static str),
    Parquet,
}

pub(crate) fn kind_of(path: &str) -> Kind {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "json" => Kind::Json,
        "csv" => Kind::Table(','),
        "tsv" => Kind::Table('\t'),
        "png" => Kind::Image("image/png"),
        "jpg" | "jpeg" => Kind::Image("image/jpeg"),
        "gif" => Kind::Image("image/gif"),
        "webp" => Kind::Image("image/webp"),
        "svg" => Kind::Image("image/svg+xml"),
        "parquet" | "pq" => Kind::Parquet,
        _ => Kind::Text,
    }
}

/// What was read, ready to draw.
#[derive(Clone, Debug)]
enum Shown {
    Text { text: String, read: u64 },
    Table { rows: Vec<Vec<String>>, read: u64 },
    Image(String),
    Parquet { footer: parquet::Footer, read: u64 },
    Binary,
    TooLarge,
}

/// The rows of delimited text (quotes with doubled quotes inside), at most `max`; a last line
/// cut by the end of what was read is dropped when `partial`.
pub(crate) fn table_rows(text: &str, delim: char, max: usize, partial: bool) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            c if c == delim && !quoted => row.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                row.push(std::mem::take(&mut field).trim_end_matches('\r').to_owned());
                rows.push(std::mem::take(&mut row));
                if rows.len() == max {
                    return rows;
                }
            }
            c => field.push(c),
        }
    }
    if !partial && (!field.is_empty() || !row.is_empty()) {
        row.push(field);
        rows.push(row);
    }
    rows
}

async fn load(url: String, kind: Kind, total: u64) -> Result<Shown, String> {
    match kind {
        Kind::Image(mime) => {
            if total > IMAGE_MAX {
                return Ok(Shown::TooLarge);
            }
            let (bytes, _) = api::get_head(&url, total.max(1)).await?;
            let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
            let options = web_sys::BlobPropertyBag::new();
            options.set_type(mime);
            let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
                .map_err(|_| "cannot make an image")?;
            let href = web_sys::Url::create_object_url_with_blob(&blob)
                .map_err(|_| "cannot make an image")?;
            Ok(Shown::Image(href))
        }
        Kind::Json if total <= JSON_WHOLE => {
            let (bytes, _) = api::get_head(&url, total.max(1)).await?;
            Ok(match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) => Shown::Text {
                    text: serde_json::to_string_pretty(&v).unwrap_or_default(),
                    read: bytes.len() as u64,
                },
                Err(_) => text(bytes),
            })
        }
        Kind::Table(delim) => {
            let (bytes, total) = api::get_head(&url, TABLE_HEAD).await?;
            if looks_binary(&bytes) {
                return Ok(Shown::Binary);
            }
            let partial = (bytes.len() as u64) < total;
            let read = bytes.len() as u64;
            let rows = table_rows(&String::from_utf8_lossy(&bytes), delim, TABLE_ROWS, partial);
            Ok(Shown::Table { rows, read })
        }
        Kind::Parquet => {
            let (mut tail, _) = api::get_tail(&url, parquet::TAIL).await?;
            let need = parquet::footer_len(&tail)?;
            if need > tail.len() as u64 {
                if need > parquet::MAX_FOOTER {
                    return Err(format!(
                        "its footer takes {}: too large to preview",
                        size(need)
                    ));
                }
                tail = api::get_tail(&url, need).await?.0;
            }
            let footer = parquet::parse(&tail)?;
            Ok(Shown::Parquet { footer, read: need })
        }
        Kind::Json | Kind::Text => Ok(text(api::get_head(&url, TEXT_HEAD).await?.0)),
    }
}

fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0)
}

fn text(bytes: Vec<u8>) -> Shown {
    if looks_binary(&bytes) {
        return Shown::Binary;
    }
    Shown::Text {
        read: bytes.len() as u64,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Delimited text as a table: the header row, then the rows a window at a time (`Virtual`), so
/// a thousand rows cost what the visible ones do. A cell too wide shows its whole text on hover.
#[component]
fn CsvTable(rows: Vec<Vec<String>>) -> impl IntoView {
    let mut rows = rows.into_iter();
    let head = rows.next().unwrap_or_default();
    let body: std::sync::Arc<Vec<Vec<String>>> = std::sync::Arc::new(rows.collect());
    let count = body.len();
    let cell = |c: String| {
        let title = c.clone();
        view! { <span class="cell" role="cell" title=title>{c}</span> }
    };
    view! {
        <div class="table-preview" role="table" aria-rowcount=count + 1 data-testid="preview-table">
            <div class="cells head" role="row">
                {head.into_iter().map(|h| {
                    let title = h.clone();
                    view! { <span class="cell" role="columnheader" title=title>{h}</span> }
                }).collect_view()}
            </div>
            <Virtual count=Signal::derive(move || count) row=move |i| {
                let r = body.get(i).cloned().unwrap_or_default();
                view! { <div class="cells" role="row" aria-rowindex=i + 2>{r.into_iter().map(cell).collect_view()}</div> }
            }/>
        </div>
    }
}

/// A Parquet file's schema: its columns (nested ones indented), types and nullability.
#[component]
fn ParquetSchema(footer: parquet::Footer) -> impl IntoView {
    let summary = format!(
        "{} rows in {} row group{} · {} columns{}",
        footer.rows,
        footer.row_groups,
        if footer.row_groups == 1 { "" } else { "s" },
        footer.columns.iter().filter(|c| c.depth == 0).count(),
        footer
            .created_by
            .as_deref()
            .map(|w| format!(" · written by {w}"))
            .unwrap_or_default(),
    );
    view! {
        <p class="meta" data-testid="parquet-summary">{summary}</p>
        <table class="schema" data-testid="preview-parquet">
            <tr><th>"column"</th><th>"type"</th><th>"values"</th></tr>
            {footer.columns.into_iter().map(|c| view! {
                <tr>
                    <td style:padding-left=format!("{}rem", c.depth as f64 * 1.2 + 0.4)>{c.name}</td>
                    <td class="mono">{c.kind}</td>
                    <td>{c.repetition}</td>
                </tr>
            }).collect_view()}
        </table>
    }
}

/// The preview of one file of a version.
#[component]
pub(crate) fn Preview(
    url: String,
    path: String,
    total: u64,
    on_close: Callback<()>,
) -> impl IntoView {
    let kind = kind_of(&path);
    let shown = LocalResource::new(move || load(url.clone(), kind, total));
    on_cleanup(move || {
        if let Some(Ok(Shown::Image(href))) = shown.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&href);
        }
    });
    let note = move |read: u64| {
        if read < total {
            format!("first {} of {}", size(read), size(total))
        } else {
            size(total)
        }
    };
    let label = format!("preview of {path}");
    let alt = path.clone();
    view! {
        <section class="preview" data-testid="preview" aria-live="polite" aria-label=label>
            <header>
                <strong>{path.clone()}</strong>
                <span class="meta" title=exact(total)>{move || match shown.get() {
                    Some(Ok(Shown::Text { read, .. } | Shown::Table { read, .. })) => format!(" · {}", note(read)),
                    Some(Ok(Shown::Parquet { read, .. })) => format!(" · its footer: last {} of {}", size(read), size(total)),
                    _ => format!(" · {}", size(total)),
                }}</span>
                <button class="link" on:click=move |_| on_close.run(())>"close"</button>
            </header>
            {move || match shown.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(Shown::Binary)) => view! { <p class="hint">"A binary file: download it to open it."</p> }.into_any(),
                Some(Ok(Shown::TooLarge)) => view! { <p class="hint">"Too large to preview here: download it."</p> }.into_any(),
                Some(Ok(Shown::Image(href))) => view! { <img src=href alt=alt.clone() data-testid="preview-image"/> }.into_any(),
                Some(Ok(Shown::Text { text, .. })) => view! { <pre data-testid="preview-text">{text}</pre> }.into_any(),
                Some(Ok(Shown::Table { rows, .. })) => view! { <CsvTable rows/> }.into_any(),
                Some(Ok(Shown::Parquet { footer, .. })) => view! { <ParquetSchema footer/> }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimited_rows_keep_quotes_and_drop_a_cut_last_line() {
        let text = "a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n2,3,4\n5,6";
        let rows = table_rows(text, ',', 10, true);
        assert_eq!(
            rows,
            [
                vec!["a", "b", "c"],
                vec!["1", "x, y", "say \"hi\""],
                vec!["2", "3", "4"]
            ]
        );
        assert_eq!(table_rows(text, ',', 10, false).len(), 4);
        assert_eq!(table_rows(text, ',', 2, false).len(), 2);
        assert_eq!(table_rows("a\tb\n", '\t', 5, false), [vec!["a", "b"]]);
    }

    #[test]
    fn kinds_come_from_extensions() {
        assert_eq!(kind_of("x/Data.CSV"), Kind::Table(','));
        assert_eq!(kind_of("logo.svg"), Kind::Image("image/svg+xml"));
        assert_eq!(kind_of("README"), Kind::Text);
        assert_eq!(kind_of("cfg.json"), Kind::Json);
        assert_eq!(kind_of("part-0.Parquet"), Kind::Parquet);
    }
}
