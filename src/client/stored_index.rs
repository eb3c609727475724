//! The catalogue's search index and the summaries its hits are shown with, stored beside the
//! local store (`bianmin-local.db.index`), so that starting the terminal and every `bianmin guides
//! search` load it instead of reading and indexing the whole cached catalogue.
//!
//! The file is only a cache of what the local store holds. It is written whole (a temporary file,
//! flushed to the disk, then renamed over the old one), tagged with the catalogue it was built
//! from ([`Stamp`]), and trusted only when its format, catalogue revision and lexicon match and
//! its checksum is right; otherwise the caller rebuilds it from the store and writes it again.
//!
//! Layout: `MAGIC`, the format (`u32`, little-endian), the stamp's length (`u32`) and the stamp,
//! then the summaries and the index, then the SHA-256 of everything before it. All but the fixed
//! fields are postcard (serde's compact binary format).

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::GuideSummary;
use crate::domain::lexicon::Lexicon;
use crate::search::SearchIndex;

const MAGIC: &[u8; 8] = b"BMINDEX\n";

/// The layout of the stored index and of everything in it. Bump it with any change to the
/// search index's fields or to how `SearchIndexBuilder` fills them (the test
/// `the_encoding_of_a_sample_index_is_pinned` fails until you do): a file of another format is
/// rebuilt, never decoded.
pub const FORMAT: u32 = 2;

/// A stamp is tiny; anything longer is not one of ours.
const MAX_STAMP: u32 = 4096;

/// What a stored index was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The catalogue sequence of the store.
    pub catalogue_seq: i64,
    /// The store's catalogue revision (changes with every change applied).
    pub catalogue_revision: Option<Uuid>,
    /// SHA-256 of the lexicon the index understands questions with.
    pub lexicon: [u8; 32],
}

impl Stamp {
    pub fn new(catalogue_seq: i64, catalogue_revision: Option<Uuid>, lexicon: &Lexicon) -> Self {
        let encoded = postcard::to_stdvec(lexicon).unwrap_or_default();
        Self { catalogue_seq, catalogue_revision, lexicon: Sha256::digest(&encoded).into() }
    }
}

/// The file beside the local store at `store`.
pub fn path_for(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".index");
    PathBuf::from(name)
}

/// Why a stored index was not used (for the log line; the caller rebuilds it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("no stored index")]
    Missing,
    #[error("stored index unreadable: {0}")]
    Unreadable(String),
    #[error("stored index is of format {found}, this build reads {FORMAT}")]
    OtherFormat { found: u32 },
    #[error("stored index is stale (built from catalogue seq {built_seq}, lexicon or revision differ)")]
    Stale { built_seq: i64 },
    #[error("stored index is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Writes the stored index for `stamp` atomically: a reader sees the old file or the new one,
/// never half of one, and after a power cut either.
pub fn save(path: &Path, stamp: &Stamp, summaries: &[GuideSummary], index: &SearchIndex) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(".tmp{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let written = (|| {
        let file = std::fs::File::create(&temp)?;
        let mut out = Hashing { inner: BufWriter::with_capacity(1 << 16, file), hash: Sha256::new() };
        let header = postcard::to_stdvec(stamp).map_err(std::io::Error::other)?;
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        out.write_all(&(header.len() as u32).to_le_bytes())?;
        out.write_all(&header)?;
        // Streamed: the encoded index is never held whole beside the index.
        let out = postcard::to_io(&(summaries, index), out).map_err(std::io::Error::other)?;
        let Hashing { mut inner, hash } = out;
        inner.write_all(&hash.finalize())?;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    // The rename itself on the disk (a directory cannot be opened for this on Windows).
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// The stored index, if it was built for exactly `stamp` and reads back whole.
pub fn load(path: &Path, stamp: &Stamp) -> Result<(Vec<GuideSummary>, SearchIndex), Unusable> {
    load_if(path, |found| found == stamp).map(|(_, summaries, index)| (summaries, index))
}

/// The stored index, if it was built for `stamp` or for an earlier sequence of the same
/// catalogue with the same lexicon (the caller then brings it up to date with the guides stored
/// since, [`Stamp::catalogue_seq`] of the stamp returned), and reads back whole.
pub fn load_current_or_earlier(
    path: &Path,
    stamp: &Stamp,
) -> Result<(Stamp, Vec<GuideSummary>, SearchIndex), Unusable> {
    load_if(path, |found| found == stamp || found.precedes(stamp))
}

impl Stamp {
    /// Whether an index built for `self` can be brought up to `later` with the guides stored
    /// after `self`'s sequence: the same lexicon, an earlier sequence. (Whether the store still
    /// holds every guide the index has is checked by the count of guides after the update.)
    pub fn precedes(&self, later: &Stamp) -> bool {
        self.lexicon == later.lexicon && self.catalogue_seq < later.catalogue_seq
    }
}

fn load_if(path: &Path, accept: impl Fn(&Stamp) -> bool) -> Result<(Stamp, Vec<GuideSummary>, SearchIndex), Unusable> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(Unusable::Unreadable(e.to_string())),
    };
    // The cheap check first: the fixed fields and the stamp, before reading the rest.
    let mut fixed = [0u8; 16];
    file.read_exact(&mut fixed).map_err(|_| Unusable::Corrupt("shorter than its header"))?;
    if &fixed[..8] != MAGIC {
        return Err(Unusable::Corrupt("not a stored index"));
    }
    let format = u32::from_le_bytes(fixed[8..12].try_into().unwrap_or_default());
    if format != FORMAT {
        return Err(Unusable::OtherFormat { found: format });
    }
    let header_len = u32::from_le_bytes(fixed[12..16].try_into().unwrap_or_default());
    if header_len > MAX_STAMP {
        return Err(Unusable::Corrupt("stamp too long"));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(|_| Unusable::Corrupt("shorter than its stamp"))?;
    let found: Stamp = postcard::from_bytes(&header).map_err(|_| Unusable::Corrupt("stamp does not decode"))?;
    if !accept(&found) {
        return Err(Unusable::Stale { built_seq: found.catalogue_seq });
    }
    let length = file.metadata().map_err(|e| Unusable::Unreadable(e.to_string()))?.len();
    let Some(body_len) = length.checked_sub(fixed.len() as u64 + u64::from(header_len) + 32) else {
        return Err(Unusable::Corrupt("shorter than its checksum"));
    };
    let mut hash = Sha256::new();
    hash.update(fixed);
    hash.update(&header);
    // Decoded as it is read, in bounded chunks, and checked after: the whole body is never held
    // beside the index decoded from it (at 100,000 guides the body is 25 MB). A body that does
    // not decode, or decodes but does not match its checksum, is refused all the same.
    let mut chunks = postcard::Deserializer::from_flavor(Chunks::new(file.take(body_len), hash));
    let decoded: Result<(Vec<GuideSummary>, SearchIndex), _> = serde::Deserialize::deserialize(&mut chunks);
    let mut chunks = chunks.finalize().map_err(|_| Unusable::Corrupt("body does not decode"))?;
    // Bytes after what decoded (all of them after a decoding error) are still the body's, and
    // hashed: a damaged file is said to be one, whichever way the damage showed first.
    chunks.drain().map_err(|e| Unusable::Unreadable(e.to_string()))?;
    let hash = chunks.hash;
    let mut file = chunks.file.into_inner();
    let mut sum = [0u8; 32];
    file.read_exact(&mut sum).map_err(|_| Unusable::Corrupt("shorter than its checksum"))?;
    if hash.finalize().as_slice() != sum {
        return Err(Unusable::Corrupt("checksum mismatch"));
    }
    let (summaries, index) = decoded.map_err(|_| Unusable::Corrupt("body does not decode"))?;
    if summaries.len() != index.len() {
        return Err(Unusable::Corrupt("summaries and index disagree"));
    }
    Ok((found, summaries, index))
}

/// How much of the stored body is read at a time.
const CHUNK: usize = 64 * 1024;

/// A postcard source over the stored body that reads it in [`CHUNK`]s and hashes every byte
/// read, so that the checksum is known once the body is decoded. Owned values only: what would
/// borrow from the input (`&str`, `&[u8]`) is refused, and the index has none.
struct Chunks {
    file: std::io::Take<std::fs::File>,
    hash: Sha256,
    buf: Box<[u8]>,
    /// Read position in `buf`, and how much of it is filled.
    at: usize,
    filled: usize,
    /// A string or byte string longer than what is left in `buf`, put together here.
    scratch: Vec<u8>,
}

impl Chunks {
    fn new(file: std::io::Take<std::fs::File>, hash: Sha256) -> Self {
        Self { file, hash, buf: vec![0; CHUNK].into_boxed_slice(), at: 0, filled: 0, scratch: Vec::new() }
    }

    /// The next chunk into `buf`; false at the end of the body.
    fn refill(&mut self) -> std::io::Result<bool> {
        let n = loop {
            match self.file.read(&mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.hash.update(&self.buf[..n]);
        (self.at, self.filled) = (0, n);
        Ok(n > 0)
    }

    /// Reads (and hashes) whatever is left of the body.
    fn drain(&mut self) -> std::io::Result<()> {
        while self.refill()? {}
        Ok(())
    }

    fn left(&self) -> u64 {
        (self.filled - self.at) as u64 + self.file.limit()
    }
}

impl<'de> postcard::de_flavors::Flavor<'de> for Chunks {
    type Remainder = Self;
    type Source = ();

    #[inline]
    fn pop(&mut self) -> postcard::Result<u8> {
        if self.at == self.filled && !self.refill().map_err(|_| postcard::Error::DeserializeUnexpectedEnd)? {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let byte = self.buf[self.at];
        self.at += 1;
        Ok(byte)
    }

    fn try_take_n(&mut self, _ct: usize) -> postcard::Result<&'de [u8]> {
        Err(postcard::Error::DeserializeBadEncoding)
    }

    fn try_take_n_temp<'a>(&'a mut self, ct: usize) -> postcard::Result<&'a [u8]>
    where
        'de: 'a,
    {
        // A garbled length is refused before anything is allocated for it.
        if ct as u64 > self.left() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        if self.filled - self.at >= ct {
            let start = self.at;
            self.at += ct;
            return Ok(&self.buf[start..start + ct]);
        }
        if self.scratch.capacity() > CHUNK {
            // Not kept from one long string to the next.
            self.scratch = Vec::new();
        }
        self.scratch.clear();
        self.scratch.reserve_exact(ct);
        while self.scratch.len() < ct {
            if self.at == self.filled && !self.refill().map_err(|_| postcard::Error::DeserializeUnexpectedEnd)? {
                return Err(postcard::Error::DeserializeUnexpectedEnd);
            }
            let take = (ct - self.scratch.len()).min(self.filled - self.at);
            self.scratch.extend_from_slice(&self.buf[self.at..self.at + take]);
            self.at += take;
        }
        Ok(&self.scratch)
    }

    fn finalize(self) -> postcard::Result<Self> {
        Ok(self)
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<GuideSummary>, SearchIndex) {
        let guides = crate::assets::bundled_catalogue().unwrap().guides;
        (guides.iter().map(GuideSummary::from).collect(), SearchIndex::build(&guides))
    }

    fn stamp() -> Stamp {
        Stamp::new(7, Some(Uuid::from_u128(42)), Lexicon::bundled())
    }

    /// The body is read in chunks: strings that cross a chunk's end, or are longer than a chunk,
    /// read back whole, and a file many chunks long reads back as written.
    #[test]
    fn strings_across_and_longer_than_a_chunk_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db.index");
        let (mut summaries, index) = sample();
        for (i, summary) in summaries.iter_mut().enumerate() {
            // 3 bytes a character: lengths around and beyond CHUNK, every 7th guide.
            if i % 7 == 0 {
                summary.department = "办".repeat(CHUNK / 3 + i * 37);
            }
        }
        summaries[1].name = "长".repeat(3 * CHUNK);
        save(&path, &stamp(), &summaries, &index).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 10 * CHUNK as u64);
        let (read, _) = load(&path, &stamp()).unwrap();
        assert_eq!(read, summaries);
    }

    /// What a stored index finds is what the index it was made from finds, for every query of
    /// the search evaluation set and for pinyin, initials and typos.
    #[test]
    fn an_index_reads_back_as_it_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db.index");
        let (summaries, index) = sample();
        save(&path, &stamp(), &summaries, &index).unwrap();
        let (read_summaries, read_index) = load(&path, &stamp()).unwrap();
        assert_eq!(read_summaries, summaries);
        assert_eq!(read_index.len(), index.len());
        let questions = crate::search::eval::load(include_str!("../../tests/eval/questions.toml")).unwrap();
        let mut queries: Vec<String> = questions.into_iter().map(|q| q.text).collect();
        assert!(queries.len() > 50);
        queries.extend(["cjrz", "yanglao", "残疾rbt", "yanlgao", "户口本丢了怎么办"].map(String::from));
        for q in &queries {
            assert_eq!(format!("{:?}", read_index.search(q, 20)), format!("{:?}", index.search(q, 20)), "{q}");
            assert_eq!(format!("{:?}", read_index.ask(q, 20)), format!("{:?}", index.ask(q, 20)), "{q}");
        }
        assert!(!read_index.search("cjrz", 5).is_empty());
        // Nothing left behind but the file itself.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_stored_index_of_another_catalogue_lexicon_or_format_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db.index");
        assert_eq!(load(&path, &stamp()).unwrap_err(), Unusable::Missing);
        let (summaries, index) = sample();
        save(&path, &stamp(), &summaries, &index).unwrap();
        let other_seq = Stamp::new(8, Some(Uuid::from_u128(42)), Lexicon::bundled());
        assert_eq!(load(&path, &other_seq).unwrap_err(), Unusable::Stale { built_seq: 7 });
        let other_revision = Stamp::new(7, Some(Uuid::from_u128(43)), Lexicon::bundled());
        assert!(matches!(load(&path, &other_revision), Err(Unusable::Stale { .. })));
        let mut lexicon = Lexicon::bundled().clone();
        lexicon.filler.push("请问一下".into());
        let other_lexicon = Stamp::new(7, Some(Uuid::from_u128(42)), &lexicon);
        assert!(matches!(load(&path, &other_lexicon), Err(Unusable::Stale { .. })));

        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8..12].copy_from_slice(&(FORMAT + 1).to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(load(&path, &stamp()).unwrap_err(), Unusable::OtherFormat { found: FORMAT + 1 });
    }

    /// A file cut short or scribbled over anywhere is refused, never decoded into a wrong index
    /// (and never a panic).
    #[test]
    fn a_truncated_or_garbled_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db.index");
        let (summaries, index) = sample();
        save(&path, &stamp(), &summaries, &index).unwrap();
        let good = std::fs::read(&path).unwrap();
        for cut in [0, 5, 16, 30, good.len() / 2, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(
                matches!(load(&path, &stamp()), Err(Unusable::Corrupt(_) | Unusable::Stale { .. })),
                "cut at {cut}"
            );
        }
        for at in [0, 20, good.len() / 3, good.len() / 2, good.len() - 40, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            assert!(load(&path, &stamp()).is_err(), "garbled at {at}");
        }
        std::fs::write(&path, &good).unwrap();
        assert!(load(&path, &stamp()).is_ok());
    }

    /// The stored format is pinned: when this fails, the index's fields or how they are built
    /// changed, and a file written by an older build would be decoded wrongly or be stale
    /// without its stamp saying so. Bump [`FORMAT`], then update the expected digest.
    #[test]
    fn the_encoding_of_a_sample_index_is_pinned() {
        // Hand-made guides, not the bundled catalogue: editing the sample data is no reason to
        // change the format.
        let mut guides = crate::assets::bundled_catalogue().unwrap().guides;
        guides.truncate(1);
        let template = guides.pop().unwrap();
        let guides: Vec<_> = [
            ("残疾人证办理", "cjrz", "办证"),
            ("城乡居民养老保险", "养老", "社保"),
            ("重度残疾人护理补贴", "护理", "𠀾字"),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (name, alias, keyword))| crate::domain::guide::ServiceGuide {
            code: format!("PIN-{i}"),
            name: name.into(),
            aliases: vec![alias.into()],
            keywords: vec![keyword.into()],
            department: "民政办".into(),
            legal_basis: Vec::new(),
            acceptance_conditions: vec!["本乡镇户籍".into()],
            situations: Vec::new(),
            materials: Vec::new(),
            fees: Vec::new(),
            process: Vec::new(),
            faqs: Vec::new(),
            ..template.clone()
        })
        .collect();
        let index = SearchIndex::build_with(&guides, &Lexicon::default());
        let encoded = postcard::to_stdvec(&index).unwrap();
        let digest: String = Sha256::digest(&encoded).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            (FORMAT, digest.as_str()),
            (2, "2c9db8e090078842b73d58279a748bfe3a693e3bc842c73336c3c783959b4d60"),
            "bump FORMAT and update the digest"
        );
    }
}
