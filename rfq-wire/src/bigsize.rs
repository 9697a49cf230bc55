//! BigSize: the variable-length integer of BOLT 1, used for TLV types and lengths.

use crate::error::DecodeError;

/// The number of bytes `value` takes as a BigSize.
#[inline]
pub fn len(value: u64) -> usize {
    match value {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Appends `value` as a minimal BigSize.
#[inline]
pub fn write(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0xfc => out.push(value as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

/// Reads a BigSize from the start of `input`, returning the value and the bytes consumed.
///
/// `offset` is the position of `input` in the enclosing stream, used only in errors.
/// Non-minimal encodings are rejected, as BOLT 1 and lnd's `tlv` package require.
#[inline]
pub fn read(input: &[u8], offset: usize) -> Result<(u64, usize), DecodeError> {
    let truncated = |needed| DecodeError::Truncated {
        what: "BigSize",
        needed,
        offset,
    };
    let (&first, rest) = input.split_first().ok_or_else(|| truncated(1))?;
    let (value, width, min) = match first {
        0xfd => (
            read_be(rest, 2).ok_or_else(|| truncated(3 - input.len()))?,
            3,
            0xfd,
        ),
        0xfe => (
            read_be(rest, 4).ok_or_else(|| truncated(5 - input.len()))?,
            5,
            0x1_0000,
        ),
        0xff => (
            read_be(rest, 8).ok_or_else(|| truncated(9 - input.len()))?,
            9,
            0x1_0000_0000,
        ),
        small => return Ok((u64::from(small), 1)),
    };
    if value < min {
        return Err(DecodeError::NonCanonicalBigSize { offset });
    }
    Ok((value, width))
}

#[inline]
fn read_be(input: &[u8], width: usize) -> Option<u64> {
    let bytes = input.get(..width)?;
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bolt1_vectors_round_trip() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (252, &[0xfc]),
            (253, &[0xfd, 0x00, 0xfd]),
            (65535, &[0xfd, 0xff, 0xff]),
            (65536, &[0xfe, 0x00, 0x01, 0x00, 0x00]),
            (4294967295, &[0xfe, 0xff, 0xff, 0xff, 0xff]),
            (4294967296, &[0xff, 0, 0, 0, 1, 0, 0, 0, 0]),
            (u64::MAX, &[0xff; 9]),
        ];
        for &(value, bytes) in cases {
            let mut out = Vec::new();
            write(&mut out, value);
            assert_eq!(out, bytes, "encode {value}");
            assert_eq!(len(value), bytes.len());
            assert_eq!(
                read(bytes, 0).unwrap(),
                (value, bytes.len()),
                "decode {value}"
            );
        }
    }

    #[test]
    fn rejects_non_canonical_and_truncated() {
        for bytes in [
            &[0xfd, 0x00, 0xfc][..],
            &[0xfe, 0x00, 0x00, 0xff, 0xff],
            &[0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(
                read(bytes, 7),
                Err(DecodeError::NonCanonicalBigSize { offset: 7 })
            );
        }
        assert!(matches!(
            read(&[0xfd, 0x01], 0),
            Err(DecodeError::Truncated { needed: 1, .. })
        ));
        assert!(matches!(read(&[], 0), Err(DecodeError::Truncated { .. })));
        assert!(matches!(
            read(&[0xff, 1, 2], 0),
            Err(DecodeError::Truncated { needed: 6, .. })
        ));
    }
}
