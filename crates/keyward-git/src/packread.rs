//! Reading pack entries: their headers, and their bytes either from the pack's memory map or,
//! for a large pack, from the file into a buffer.
//!
//! Every page of a mapped file that a pass touches stays resident, and counts in the
//! process's memory, until the map goes away: a whole-history pass touches nearly every page
//! of every pack, so peak memory would grow with the packs' size. A pack larger than
//! [`MAP_LIMIT`] is therefore read with positioned reads instead (the operating system's page
//! cache still serves them, but it is not the process's memory); smaller packs keep the
//! map, which saves a system call per entry.

use std::fs::File;
use std::io;

/// Packs up to this size are read through their memory map.
pub(crate) const MAP_LIMIT: u64 = 256 << 20;
/// The longest entry header: a 64-bit size (10 bytes) and a base reference (at most 20).
pub(crate) const MAX_HEADER: usize = 32;
/// Headers are read from a large pack in chunks of this size.
const CHUNK: usize = 4 << 20;

/// The base an entry names, if it is a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryBase {
    /// Stored whole.
    None,
    /// A delta of the entry this many bytes before it.
    Offset(u64),
    /// A delta of the object with this id.
    Id([u8; 20]),
}

/// An entry's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryHeader {
    /// Git's type number: 1 commit, 2 tree, 3 blob, 4 tag, 6 offset delta, 7 ref delta.
    pub kind: u8,
    /// The inflated size: the object's, or for a delta the delta's.
    pub size: u64,
    pub base: EntryBase,
    /// Where the compressed data starts, from the entry's start.
    pub len: usize,
}

/// Parses the header at the start of `b`; `None` if it is malformed or cut short.
pub(crate) fn parse_header(b: &[u8]) -> Option<EntryHeader> {
    let mut pos = 0;
    let mut c = *b.first()?;
    pos += 1;
    let kind = (c >> 4) & 7;
    let mut size = u64::from(c & 0x0f);
    let mut shift = 4;
    while c & 0x80 != 0 {
        c = *b.get(pos)?;
        pos += 1;
        if shift > 60 {
            return None;
        }
        size |= u64::from(c & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        1..=4 => EntryBase::None,
        6 => {
            let mut c = *b.get(pos)?;
            pos += 1;
            let mut distance = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                c = *b.get(pos)?;
                pos += 1;
                distance = distance.checked_add(1)?.checked_mul(128)? | u64::from(c & 0x7f);
            }
            EntryBase::Offset(distance)
        }
        7 => {
            let id: [u8; 20] = b.get(pos..pos + 20)?.try_into().ok()?;
            pos += 20;
            EntryBase::Id(id)
        }
        _ => return None,
    };
    Some(EntryHeader {
        kind,
        size,
        base,
        len: pos,
    })
}

/// Fills `buf` from `file` at `offset`; returns how much was read (less only at the end of
/// the file).
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, &mut buf[done..], offset + done as u64);
        #[cfg(windows)]
        let n =
            std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64);
        match n {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads entry headers of a pack file in increasing offset order, a chunk at a time.
pub(crate) struct HeaderReader<'f> {
    file: &'f File,
    buf: Vec<u8>,
    start: u64,
}

impl<'f> HeaderReader<'f> {
    pub(crate) fn new(file: &'f File) -> HeaderReader<'f> {
        HeaderReader {
            file,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The bytes of `offset..end` (at most [`MAX_HEADER`] of them), which hold the header of
    /// the entry at `offset` that ends at `end`.
    pub(crate) fn at(&mut self, offset: u64, end: u64) -> Option<&[u8]> {
        let want = end.min(offset + MAX_HEADER as u64);
        let have = self.start + self.buf.len() as u64;
        if want < offset {
            return None;
        }
        if offset < self.start || want > have {
            self.buf.resize(CHUNK, 0);
            self.start = offset;
            match read_at(self.file, &mut self.buf, offset) {
                Ok(n) => self.buf.truncate(n),
                Err(_) => {
                    self.buf.clear();
                    return None;
                }
            }
        }
        let from = usize::try_from(offset - self.start).ok()?;
        let to = usize::try_from(want.checked_sub(self.start)?).ok()?;
        self.buf.get(from..to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_every_kind_and_malformed_ones() {
        // A blob of 300 bytes: type 3, size 300 = 0b1_0010_1100.
        assert_eq!(
            parse_header(&[0x80 | 0x30 | 0x0c, 0x12, 0xaa]),
            Some(EntryHeader {
                kind: 3,
                size: 300,
                base: EntryBase::None,
                len: 2
            })
        );
        // An offset delta of 5 bytes whose base is 200 bytes back: 200 = (0 + 1) * 128 + 72.
        assert_eq!(
            parse_header(&[0x65, 0x80, 72]),
            Some(EntryHeader {
                kind: 6,
                size: 5,
                base: EntryBase::Offset(200),
                len: 3
            })
        );
        let mut refd = vec![0x71];
        refd.extend_from_slice(&[7u8; 20]);
        assert_eq!(
            parse_header(&refd).map(|h| (h.kind, h.base, h.len)),
            Some((7, EntryBase::Id([7; 20]), 21))
        );
        assert_eq!(parse_header(&[]), None, "empty");
        assert_eq!(parse_header(&[0x80 | 0x30]), None, "size cut short");
        assert_eq!(parse_header(&[0x50]), None, "type 5 is reserved");
        assert_eq!(parse_header(&[0x71, 1, 2]), None, "ref cut short");
        assert_eq!(parse_header(&[0xb0; 16]), None, "size too long");
    }

    #[test]
    fn the_header_reader_reads_across_chunks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data");
        let data: Vec<u8> = (0..CHUNK + 100).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let file = File::open(&path).expect("open");
        let mut r = HeaderReader::new(&file);
        for offset in [0, 10, CHUNK - 5, CHUNK + 90, 3] {
            let end = (offset + 50).min(data.len());
            let got = r.at(offset as u64, end as u64).expect("bytes");
            assert_eq!(got, &data[offset..end.min(offset + MAX_HEADER)]);
        }
        assert_eq!(r.at(data.len() as u64 + 5, data.len() as u64 + 9), None);
    }
}
