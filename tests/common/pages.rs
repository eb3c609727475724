//! Reading SQLite's file format by hand, to damage one page of a table on purpose.

/// Child pages of an interior table b-tree page, with the highest rowid each holds (the last
/// child, the right-most pointer, has none).
pub fn interior_children(page: &[u8]) -> Vec<(u32, Option<i64>)> {
    assert_eq!(page[0], 0x05, "an interior table page");
    let cells = u16::from_be_bytes([page[3], page[4]]) as usize;
    let mut out = Vec::new();
    for i in 0..cells {
        let at = u16::from_be_bytes([page[12 + 2 * i], page[13 + 2 * i]]) as usize;
        let child = u32::from_be_bytes(page[at..at + 4].try_into().unwrap());
        // The key: a varint.
        let (mut key, mut p) = (0i64, at + 4);
        loop {
            let b = page[p];
            key = (key << 7) | i64::from(b & 0x7f);
            p += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        out.push((child, Some(key)));
    }
    out.push((u32::from_be_bytes(page[8..12].try_into().unwrap()), None));
    out
}
