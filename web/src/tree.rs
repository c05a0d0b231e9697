//! A version's files as a folder tree: built once from the manifest's sorted paths (each
//! folder with its file count and size), then the rows to draw for a set of open folders
//! computed by skipping closed folders whole — so a 100,000-file version redraws in the time
//! of the rows on screen, not of the manifest.

use std::collections::HashSet;

/// One node of the tree, in depth-first order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub depth: usize,
    /// The file or folder name (one path component).
    pub name: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A folder: its full path, the files under it, their size, and the index after its subtree.
    Folder {
        path: String,
        files: u64,
        size: u64,
        end: usize,
    },
    /// A file: its index in the manifest's entries.
    File { entry: usize },
}

/// The tree of `paths` (in byte order, as a manifest holds them), each with its size.
pub fn build<'a>(paths: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    // the open folders: their names and node indices
    let mut open: Vec<(String, usize)> = Vec::new();
    for (i, (path, size)) in paths.into_iter().enumerate() {
        let parts: Vec<&str> = path.split('/').collect();
        let dirs = &parts[..parts.len() - 1];
        let shared = open
            .iter()
            .zip(dirs)
            .take_while(|((name, _), d)| name == *d)
            .count();
        for (_, node) in open.drain(shared..) {
            close(&mut nodes, node);
        }
        for (depth, dir) in dirs.iter().enumerate().skip(shared) {
            open.push(((*dir).to_owned(), nodes.len()));
            nodes.push(Node {
                depth,
                name: (*dir).to_owned(),
                kind: Kind::Folder {
                    path: dirs[..=depth].join("/"),
                    files: 0,
                    size: 0,
                    end: 0,
                },
            });
        }
        for (_, node) in &open {
            if let Kind::Folder { files, size: s, .. } = &mut nodes[*node].kind {
                *files += 1;
                *s += size;
            }
        }
        nodes.push(Node {
            depth: dirs.len(),
            name: parts[parts.len() - 1].to_owned(),
            kind: Kind::File { entry: i },
        });
    }
    for (_, node) in open.drain(..).rev() {
        close(&mut nodes, node);
    }
    nodes
}

fn close(nodes: &mut [Node], node: usize) {
    let after = nodes.len();
    if let Kind::Folder { end, .. } = &mut nodes[node].kind {
        *end = after;
    }
}

/// The indices of the nodes to draw: every node whose folders are all open.
pub fn visible(nodes: &[Node], open: &HashSet<String>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        out.push(i);
        match &nodes[i].kind {
            Kind::Folder { path, end, .. } if !open.contains(path) => i = *end,
            _ => i += 1,
        }
    }
    out
}

/// Every folder's path (to open them all).
pub fn folders(nodes: &[Node]) -> impl Iterator<Item = &str> {
    nodes.iter().filter_map(|n| match &n.kind {
        Kind::Folder { path, .. } => Some(path.as_str()),
        Kind::File { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[(&str, u64)]) -> Vec<Node> {
        build(paths.iter().copied())
    }

    fn names(nodes: &[Node], rows: &[usize]) -> Vec<String> {
        rows.iter()
            .map(|&i| format!("{}{}", "  ".repeat(nodes[i].depth), nodes[i].name))
            .collect()
    }

    #[test]
    fn folders_count_and_sum_what_is_under_them() {
        // byte order puts `a.txt` before `a/…` and `a-b` between them
        let nodes = tree(&[("a-b", 1), ("a.txt", 2), ("a/x", 3), ("a/y/z", 4), ("b", 5)]);
        let all: HashSet<String> = folders(&nodes).map(str::to_owned).collect();
        let rows = visible(&nodes, &all);
        assert_eq!(
            names(&nodes, &rows),
            ["a-b", "a.txt", "a", "  x", "  y", "    z", "b"]
        );
        let a = nodes.iter().find(|n| n.name == "a").unwrap();
        assert_eq!(
            a.kind,
            Kind::Folder {
                path: "a".into(),
                files: 2,
                size: 7,
                end: 6
            }
        );
    }

    #[test]
    fn closed_folders_hide_their_subtree() {
        let nodes = tree(&[("d/1", 1), ("d/e/2", 1), ("d/e/3", 1), ("f", 1)]);
        assert_eq!(names(&nodes, &visible(&nodes, &HashSet::new())), ["d", "f"]);
        let open: HashSet<String> = ["d".to_owned()].into();
        assert_eq!(
            names(&nodes, &visible(&nodes, &open)),
            ["d", "  1", "  e", "f"]
        );
        // an open folder inside a closed one stays hidden
        let inner: HashSet<String> = ["d/e".to_owned()].into();
        assert_eq!(names(&nodes, &visible(&nodes, &inner)), ["d", "f"]);
    }

    #[test]
    fn file_nodes_point_at_their_entries() {
        let nodes = tree(&[("x/a", 1), ("y", 2)]);
        let files: Vec<usize> = nodes
            .iter()
            .filter_map(|n| match n.kind {
                Kind::File { entry } => Some(entry),
                Kind::Folder { .. } => None,
            })
            .collect();
        assert_eq!(files, [0, 1]);
    }
}
