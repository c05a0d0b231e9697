//! The pack contract of a blob store: verified on the way in, whole or absent, listed, read
//! by range, deleted.

use bytes::Bytes;
use cairn_core::pack::{PackBuilder, PackHeader};
use cairn_store::{BlobStore, ByteStream, Error};
use futures::StreamExt;

pub fn body(bytes: &[u8], piece: usize) -> ByteStream {
    let pieces: Vec<_> = bytes
        .chunks(piece)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(pieces).boxed()
}

fn pack(chunks: &[&[u8]]) -> Vec<u8> {
    let mut b = PackBuilder::new();
    for c in chunks {
        b.push(c);
    }
    b.finish()
}

pub async fn run(store: &dyn BlobStore) {
    let owner = "conf/packs";
    let before = store.list_packs().await.unwrap().len();
    let good = pack(&[b"alpha", &[9u8; 70_000], b"omega"]);
    let (key, header) = store
        .put_pack(owner, body(&good, 1000), 1 << 20)
        .await
        .unwrap();
    assert_eq!(key.owner, owner);
    assert_eq!(header.entries.len(), 3);
    // the same body names the same pack; another project's copy is another pack
    let (again, _) = store
        .put_pack(owner, body(&good, 7), 1 << 20)
        .await
        .unwrap();
    assert_eq!(again, key);
    let (other, _) = store
        .put_pack("conf/other", body(&good, 7), 1 << 20)
        .await
        .unwrap();
    assert_ne!(other.id, key.id);
    assert_eq!(store.pack_header(&key).await.unwrap(), Some(header.clone()));
    let locs: Vec<_> = header.locations().collect();
    let (_, at) = locs[2];
    assert_eq!(
        &store.pack_bytes(&key, at..at + 5).await.unwrap()[..],
        b"omega"
    );
    assert_eq!(PackHeader::encoded_len(3) + 70_010, good.len() as u64);

    // refused bodies leave nothing
    let mut wrong = good.clone();
    let last = wrong.len() - 1;
    wrong[last] ^= 1;
    let err = store
        .put_pack(owner, body(&wrong, 999), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert!(err.to_string().contains("hashes to"), "{err}");
    let err = store
        .put_pack(owner, body(&good[..good.len() - 2], 999), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    let err = store
        .put_pack(owner, body(&good, 999), 1000)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    let listed = store.list_packs().await.unwrap();
    assert_eq!(listed.len(), before + 2, "{listed:?}");
    let mine = listed.iter().find(|p| p.key == key).expect("listed");
    assert_eq!(mine.size, good.len() as u64);

    for k in [&key, &other] {
        store.delete_pack(k).await.unwrap();
        store.delete_pack(k).await.unwrap();
    }
    assert_eq!(store.pack_header(&key).await.unwrap(), None);
    assert!(matches!(
        store.pack_bytes(&key, 0..4).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.list_packs().await.unwrap().len(), before);
}
