//! The line diff of one modified text file between two versions (both read whole, up to
//! [`LIMIT`]), in hunks with three lines of context.

use leptos::prelude::*;
use similar::{ChangeTag, TextDiff};

use super::preview::{Kind, kind_of};
use crate::api;
use crate::size::human as size;

/// Largest file (either side) diffed line by line.
pub(crate) const LIMIT: u64 = 1 << 20;

/// One drawn line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// `' '`, `'+'` or `'-'`, the old and new line numbers, the text.
    Text(char, Option<usize>, Option<usize>, String),
    /// Lines left out between two hunks.
    Gap,
}

/// Whether `path` is diffed line by line (text, code, CSV, JSON).
pub(crate) fn diffable(path: &str) -> bool {
    !matches!(kind_of(path), Kind::Image(_))
}

/// The hunks of the line diff from `a` to `b`.
pub(crate) fn lines(a: &str, b: &str) -> Vec<Line> {
    let diff = TextDiff::from_lines(a, b);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            out.push(Line::Gap);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Insert => '+',
                    ChangeTag::Delete => '-',
                };
                let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
                out.push(Line::Text(
                    sign,
                    change.old_index().map(|n| n + 1),
                    change.new_index().map(|n| n + 1),
                    text,
                ));
            }
        }
    }
    out
}

async fn load(from: String, to: String) -> Result<Option<Vec<Line>>, String> {
    let (a, a_total) = api::get_head(&from, LIMIT).await?;
    let (b, b_total) = api::get_head(&to, LIMIT).await?;
    if a_total > LIMIT || b_total > LIMIT || [&a, &b].iter().any(|x| x.contains(&0)) {
        return Ok(None);
    }
    Ok(Some(lines(
        &String::from_utf8_lossy(&a),
        &String::from_utf8_lossy(&b),
    )))
}

/// The line diff of `path` between the files at `from` and `to`.
#[component]
pub(crate) fn LineDiff(
    from: String,
    to: String,
    path: String,
    on_close: Callback<()>,
) -> impl IntoView {
    let diff = LocalResource::new(move || load(from.clone(), to.clone()));
    view! {
        <section class="preview" data-testid="line-diff" aria-label=format!("changes in {path}")>
            <header>
                <strong>{path.clone()}</strong>
                <button class="link" on:click=move |_| on_close.run(())>"close"</button>
            </header>
            {move || match diff.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(None)) => view! {
                    <p class="hint">{format!("Binary, or over {} on one side: no line diff.", size(LIMIT))}</p>
                }.into_any(),
                Some(Ok(Some(lines))) => view! {
                    <pre class="diff">{lines.into_iter().map(|l| match l {
                        Line::Gap => view! { <span class="gap">"⋯"</span> }.into_any(),
                        Line::Text(sign, old, new, text) => {
                            let class = match sign { '+' => "add", '-' => "del", _ => "ctx" };
                            let num = |n: Option<usize>| n.map_or_else(|| "    ".to_owned(), |n| format!("{n:>4}"));
                            view! { <span class=class>{format!("{} {} {sign} {text}", num(old), num(new))}</span> }.into_any()
                        }
                    }).collect_view()}</pre>
                }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_keep_three_lines_of_context_and_number_both_sides() {
        let a: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let b = a
            .replace("line 10\n", "line ten\n")
            .replace("line 20\n", "");
        let out = lines(&a, &b);
        assert!(out.contains(&Line::Text('-', Some(10), None, "line 10".into())));
        assert!(out.contains(&Line::Text('+', None, Some(10), "line ten".into())));
        assert!(out.contains(&Line::Text(' ', Some(7), Some(7), "line 7".into())));
        assert!(
            !out.iter()
                .any(|l| matches!(l, Line::Text(_, Some(6), _, _)))
        );
        assert!(out.contains(&Line::Text('-', Some(20), None, "line 20".into())));
        assert_eq!(out.iter().filter(|l| **l == Line::Gap).count(), 1);
    }

    #[test]
    fn images_are_not_diffed_by_line() {
        assert!(diffable("a/b.csv") && diffable("README") && !diffable("x.png"));
    }
}
