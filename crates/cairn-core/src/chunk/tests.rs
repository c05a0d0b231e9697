use super::golden::input;
use super::*;

fn whole(data: &[u8]) -> Vec<Chunk> {
    chunk_all(data).1
}

fn well_formed(data: &[u8], chunks: &[Chunk]) {
    let mut at = 0u64;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.offset, at, "chunk {i} is not contiguous");
        let len = c.len as usize;
        assert!(len <= MAX_CHUNK, "chunk {i}: {len} bytes");
        assert!(
            len >= MIN_CHUNK || i + 1 == chunks.len(),
            "chunk {i} of {} is {len} bytes",
            chunks.len()
        );
        let bytes = &data[at as usize..at as usize + len];
        assert_eq!(c.hash, ChunkHash::of(bytes), "chunk {i}'s hash");
        at += len as u64;
    }
    assert_eq!(at, data.len() as u64);
}

#[test]
fn chunks_cover_the_file_within_bounds() {
    let data = input(1, 3 << 20);
    let chunks = whole(&data);
    well_formed(&data, &chunks);
    let avg = data.len() / chunks.len();
    assert!((40 << 10..110 << 10).contains(&avg), "average {avg} bytes");
    assert_eq!(chunk_all(&data).0, Digest::of(&data));
}

#[test]
fn how_the_stream_is_cut_does_not_matter() {
    let data = input(2, 1 << 20);
    let want = whole(&data);
    for piece in [1usize, 63, 64, 65, 4096, 8191, 100_000] {
        let mut chunker = Chunker::new();
        let mut got = Vec::new();
        for p in data.chunks(piece) {
            chunker.update(p, &mut got);
        }
        assert_eq!(chunker.finish(&mut got), Digest::of(&data));
        assert_eq!(got, want, "pieces of {piece}");
    }
}

#[test]
fn an_edit_changes_only_the_chunks_around_it() {
    let data = input(3, 8 << 20);
    let mut edited = data.clone();
    let at = 4 << 20;
    edited[at..at + (1 << 20)].copy_from_slice(&input(4, 1 << 20));
    let before: std::collections::HashSet<ChunkHash> =
        whole(&data).iter().map(|c| c.hash).collect();
    let after = whole(&edited);
    well_formed(&edited, &after);
    let new: u64 = after
        .iter()
        .filter(|c| !before.contains(&c.hash))
        .map(|c| c.len as u64)
        .sum();
    // the megabyte itself plus at most a chunk either side
    assert!(new <= (1 << 20) + 2 * MAX_CHUNK as u64, "{new} new bytes");
    // an append leaves every chunk but the last in place
    let mut appended = data.clone();
    appended.extend_from_slice(&input(5, 1 << 20));
    let old = whole(&data);
    let grown = whole(&appended);
    assert_eq!(&grown[..old.len() - 1], &old[..old.len() - 1]);
}

#[test]
fn small_empty_and_constant_inputs() {
    let (digest, chunks) = chunk_all(b"");
    assert_eq!((digest, chunks.len()), (Digest::of(b""), 0));
    let (_, chunks) = chunk_all(b"tiny");
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].hash, ChunkHash::of(b"tiny"));
    // no position of a constant input is a boundary: every chunk is as long as allowed
    let zeros = vec![0u8; 5 * MAX_CHUNK + 17];
    let chunks = whole(&zeros);
    well_formed(&zeros, &chunks);
    assert!(chunks[..5].iter().all(|c| c.len as usize == MAX_CHUNK));
}

#[test]
fn the_gear_table_is_splitmix64_of_the_seed() {
    // the first output of SplitMix64 seeded with GEAR_SEED, computed by hand from the paper's
    // constants, and the table's first 8 bytes as the golden input generator would give them
    assert_eq!(
        GEAR[0].to_le_bytes().to_vec(),
        golden::input(GEAR_SEED, 8),
        "GEAR[0]"
    );
    assert_eq!(
        GEAR[1].to_le_bytes().to_vec(),
        golden::input(GEAR_SEED, 16)[8..]
    );
}

#[test]
fn the_splitter_alone_gives_the_same_chunks() {
    let data = input(6, 1 << 20);
    let mut split = Splitter::new();
    let mut chunks = Vec::new();
    for piece in data.chunks(10_000) {
        split.update(piece, &mut chunks);
    }
    assert_eq!(split.position(), data.len() as u64);
    split.finish(&mut chunks);
    assert_eq!(chunks, whole(&data));
}

#[test]
fn chunk_lists_round_trip_and_refuse_damage() {
    let (_, chunks) = chunk_all(&input(3, 300_000));
    let list: Vec<_> = chunks.iter().map(|c| (c.hash, c.len)).collect();
    let encoded = encode_chunk_list(&list);
    assert_eq!(decode_chunk_list(&encoded).unwrap(), chunks);
    assert!(decode_chunk_list(&encoded[..encoded.len() - 1]).is_err());
    assert!(decode_chunk_list(&encoded[1..]).is_err());
}
