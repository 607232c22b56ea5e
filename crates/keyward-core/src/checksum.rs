//! Checksums that some providers embed in their tokens, so that a random-looking string of the
//! right shape can be told from a real token offline.

use serde::{Deserialize, Serialize};

/// A checksum a rule's secret must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// The last 6 characters are the CRC32 of the 30 characters before them (after the
    /// prefix that ends with the last `_`), in base62, zero-padded: GitHub's `ghp_`, `gho_`,
    /// `ghu_`, `ghs_`, `ghr_` tokens and npm's `npm_` tokens.
    Crc32Base62,
}

impl Checksum {
    /// Does `secret` carry a valid checksum?
    pub fn verify(self, secret: &[u8]) -> bool {
        match self {
            Checksum::Crc32Base62 => verify_crc32_base62(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn verify_crc32_base62(secret: &[u8]) -> bool {
    let body_start = secret.iter().rposition(|&b| b == b'_').map_or(0, |i| i + 1);
    let body = &secret[body_start..];
    if body.len() != 36 {
        return false;
    }
    let (random, check) = body.split_at(30);
    let mut n = crc32(random);
    let mut expected = [b'0'; 6];
    for slot in expected.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    n == 0 && expected == check
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn github_checksums() {
        // Built by hand: 30 random characters, then base62(crc32) padded to 6.
        let body = b"aB3dE5gH7jK9mN1pQ3sT5vW7yZ1bC3";
        let mut n = crc32(body);
        let mut check = [b'0'; 6];
        for slot in check.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let token = [b"ghp_".as_slice(), body, &check].concat();
        assert!(Checksum::Crc32Base62.verify(&token));
        let mut bad = token.clone();
        bad[10] = b'x';
        assert!(!Checksum::Crc32Base62.verify(&bad));
        assert!(!Checksum::Crc32Base62.verify(b"ghp_short"));
    }
}
