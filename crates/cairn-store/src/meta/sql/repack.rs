//! Packs that are mostly garbage, rewritten: the recipes that name one are moved, in one
//! transaction, onto a new pack holding only the chunks they read.

use std::collections::HashMap;

use cairn_core::chunk::ChunkHash;
use sqlx::AnyConnection;

use super::stored_digest;
use crate::error::Result;
use crate::recipe::{PackKey, Recipe};

/// The recipes that name `pack`.
pub(super) async fn naming(conn: &mut AnyConnection, pack: &PackKey) -> Result<Vec<Recipe>> {
    let rows: Vec<(Vec<u8>, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT r.digest, r.size, r.body FROM recipe_packs p JOIN recipes r ON r.digest = p.digest
         WHERE p.pack = $1",
    )
    .bind(pack.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(d, size, body)| Recipe::decode(stored_digest(d)?, size as u64, &body))
        .collect()
}

/// Inside the caller's write transaction: every recipe naming `from` reads its chunks there
/// from `to` instead, where `moved` says each chunk's offset; a recipe reading a chunk `moved`
/// lacks keeps `from`. Answers how many recipes moved. Only a collection (which holds the
/// collection lock) changes or removes a recipe; an assembly recording meanwhile adds rows for
/// other blobs, which may name `from` (it then stays named, and is not collected).
pub(super) async fn repoint(
    conn: &mut AnyConnection,
    from: &PackKey,
    to: &PackKey,
    moved: &HashMap<ChunkHash, u64>,
) -> Result<usize> {
    let mut count = 0;
    for mut recipe in naming(conn, from).await? {
        let Some(old) = recipe.packs.iter().position(|p| p == from) else {
            continue;
        };
        let lacking = recipe
            .chunks
            .iter()
            .any(|c| c.pack as usize == old && !moved.contains_key(&c.hash));
        if lacking {
            continue;
        }
        let new = match recipe.packs.iter().position(|p| p == to) {
            Some(i) => i,
            None => {
                recipe.packs.push(to.clone());
                recipe.packs.len() - 1
            }
        } as u32;
        for c in recipe.chunks.iter_mut().filter(|c| c.pack as usize == old) {
            c.pack = new;
            c.offset = moved[&c.hash];
        }
        // drop `from` from the list, renumbering the chunks after it
        recipe.packs.remove(old);
        for c in &mut recipe.chunks {
            if c.pack as usize > old {
                c.pack -= 1;
            }
        }
        let digest = recipe.digest.as_bytes().to_vec();
        sqlx::query("UPDATE recipes SET body = $1 WHERE digest = $2")
            .bind(recipe.encode())
            .bind(digest.clone())
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM recipe_packs WHERE pack = $1 AND digest = $2")
            .bind(from.to_string())
            .bind(digest.clone())
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO recipe_packs (pack, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(to.to_string())
        .bind(digest)
        .execute(&mut *conn)
        .await?;
        count += 1;
    }
    Ok(count)
}
