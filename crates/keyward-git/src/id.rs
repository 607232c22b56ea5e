//! Object ids as plain values, so that no gix type shows in the public API.

use std::fmt;

macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 20]);

        impl $name {
            /// Wraps the 20 bytes of a SHA-1 object id.
            pub fn from_bytes(bytes: [u8; 20]) -> $name {
                $name(bytes)
            }

            /// Parses 40 hex digits.
            pub fn from_hex(hex: &str) -> Option<$name> {
                parse_hex(hex.as_bytes()).map($name)
            }

            /// The raw 20 bytes.
            pub fn as_bytes(&self) -> &[u8; 20] {
                &self.0
            }

            /// The 40 hex digits.
            pub fn to_hex(&self) -> String {
                to_hex(&self.0)
            }

            pub(crate) fn from_gix(id: &gix::oid) -> $name {
                let mut out = [0; 20];
                let bytes = id.as_bytes();
                let n = bytes.len().min(20);
                out[..n].copy_from_slice(&bytes[..n]);
                $name(out)
            }

            pub(crate) fn to_gix(self) -> gix::ObjectId {
                gix::ObjectId::from_bytes_or_panic(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

object_id!(
    /// The id of a blob (file content).
    BlobId
);
object_id!(
    /// The id of a commit.
    CommitId
);
/// The id of a tree: trees never leave the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TreeId([u8; 20]);

impl TreeId {
    pub(crate) fn from_bytes(bytes: [u8; 20]) -> TreeId {
        TreeId(bytes)
    }

    pub(crate) fn to_gix(self) -> gix::ObjectId {
        gix::ObjectId::from_bytes_or_panic(&self.0)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    pub(crate) fn to_hex(self) -> String {
        to_hex(&self.0)
    }

    pub(crate) fn from_gix(id: &gix::oid) -> TreeId {
        TreeId(BlobId::from_gix(id).0)
    }
}

fn to_hex(bytes: &[u8; 20]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(40);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

pub(crate) fn parse_hex(hex: &[u8]) -> Option<[u8; 20]> {
    if hex.len() != 40 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0; 20];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let hex = "0123456789abcdef00ff0123456789abcdef00ff";
        let id = BlobId::from_hex(hex).expect("valid hex");
        assert_eq!(id.to_hex(), hex);
        assert_eq!(id.to_string(), hex);
        assert_eq!(BlobId::from_gix(&id.to_gix()), id);
        assert!(BlobId::from_hex("xyz").is_none());
        assert!(BlobId::from_hex(&hex[..39]).is_none());
        assert!(CommitId::from_hex("g123456789abcdef00ff0123456789abcdef00ff").is_none());
    }
}
