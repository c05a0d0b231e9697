use super::*;

/// Written by pyarrow 26 (web/tests/fixtures/make_parquet.py).
const FLOWERS: &[u8] = include_bytes!("../../tests/fixtures/flowers.parquet");

#[test]
fn a_real_writers_footer_reads_as_its_schema() {
    assert_eq!(footer_len(FLOWERS).unwrap(), 3160 + 8);
    let f = parse(FLOWERS).unwrap();
    assert_eq!(f.rows, 300);
    assert_eq!(f.row_groups, 2);
    assert_eq!(
        f.created_by.as_deref(),
        Some("parquet-cpp-arrow version 26.0.1")
    );
    let shown: Vec<(usize, &str, &str, &str)> = f
        .columns
        .iter()
        .map(|c| (c.depth, c.name.as_str(), c.kind.as_str(), c.repetition))
        .collect();
    assert_eq!(
        shown,
        [
            (0, "id", "int64", "optional"),
            (0, "species", "string", "optional"),
            (0, "petal_cm", "double", "optional"),
            (0, "label", "string", "optional"),
            (0, "seen", "timestamp[us, UTC]", "optional"),
            (0, "day", "date", "optional"),
            (0, "tags", "list", "optional"),
            (1, "list", "struct", "repeated"),
            (2, "element", "string", "optional"),
            (0, "box", "struct", "optional"),
            (1, "w", "int32", "optional"),
            (1, "h", "int32", "optional"),
            (0, "price", "decimal(9, 2)", "optional"),
        ]
    );
}

#[test]
fn what_is_not_a_whole_footer_is_an_error_never_a_panic() {
    assert_eq!(
        footer_len(b"id,label\n1,cat\n").unwrap_err(),
        "not a Parquet file (no PAR1 at its end)"
    );
    // only the last bytes read: the footer is longer than them
    let tail = &FLOWERS[FLOWERS.len() - 100..];
    assert_eq!(parse(tail).unwrap_err(), "the footer was not read whole");
    // every byte of the footer changed in turn: an error or some footer, never a panic
    let start = FLOWERS.len() - 3168;
    for at in start..FLOWERS.len() - 8 {
        let mut bad = FLOWERS.to_vec();
        bad[at] ^= 0xa5;
        let _ = parse(&bad);
    }
    // a footer cut short (its first 2,160 bytes, declared as the whole)
    let mut cut = FLOWERS[start..start + 2160].to_vec();
    cut.extend_from_slice(&(2160u32).to_le_bytes());
    cut.extend_from_slice(b"PAR1");
    assert_eq!(parse(&cut).unwrap_err(), "a damaged Parquet footer");
}
