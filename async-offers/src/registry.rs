//! Registration tokens: how an operator hands a recipient the blinded paths to its static
//! invoice server.
//!
//! Recipients themselves are kept by the [store](crate::store) ([`Recipient`](crate::store::Recipient),
//! [`StaticInvoiceStore::register_recipient`](crate::StaticInvoiceStore::register_recipient));
//! [`StaticInvoiceServer::register`](crate::StaticInvoiceServer::register) registers one and
//! issues its token in one step.
//!
//! # Token format
//!
//! A bech32m string with the human-readable part [`TOKEN_HRP`] (`lnasync`). Its data is
//!
//! ```text
//! version (1 byte, = 1) | path count n (1 byte, ≥ 1) | n × ( length (u16 big-endian) | path )
//! ```
//!
//! where each path is a `BlindedMessagePath` in LDK's serialization (`Writeable`), as returned by
//! `ChannelManager::blinded_paths_for_async_recipient` and taken by
//! `ChannelManager::set_paths_to_static_invoice_server`.
//!
//! # Length
//!
//! bech32m's checksum is specified for strings up to 1023 characters (bech32 0.11's
//! `Bech32m::CODE_LENGTH`), which fits about 600 bytes of data — one blinded path with padding
//! is already ~200–400 bytes, and LDK returns up to three. Tokens therefore use
//! [`Bech32mLong`]: exactly bech32m's checksum (same generator, same target residue, so any
//! bech32m decoder that does not enforce the length limit accepts them) with the length limit
//! raised to [`MAX_TOKEN_CHARS`]. A token of up to 1023 characters is a plain bech32m string.
//! Beyond 1023 characters the checksum still catches every error burst of up to 6 characters
//! and almost all random damage, but no longer guarantees to catch every pair of substitutions
//! (two equal changes exactly 1023 characters apart cancel out). A damaged token that still
//! passes the checksum must also parse as valid paths, and the recipient's LDK then fails to
//! reach the server, so the failure mode is "token does not work", never "wrong server".

use bech32::primitives::checksum::Checksum;
use bech32::primitives::decode::UncheckedHrpstring;
use bech32::Hrp;
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::util::ser::{Readable, Writeable};
use std::fmt;
use std::str::FromStr;

/// The human-readable part of a registration token.
pub const TOKEN_HRP: &str = "lnasync";

/// The token version this build writes and reads.
pub const TOKEN_VERSION: u8 = 1;

/// The longest token accepted or produced, in characters.
pub const MAX_TOKEN_CHARS: usize = 8_000;

/// The most paths a token carries.
pub const MAX_TOKEN_PATHS: usize = 16;

/// bech32m's checksum with a length limit of [`MAX_TOKEN_CHARS`] instead of 1023 (see the
/// [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bech32mLong {}

/// bech32's generator, shared by bech32 and bech32m (BIP 173 / BIP 350).
const GENERATOR: [u32; 5] = [
    0x3b6a_57b2,
    0x2650_8e6d,
    0x1ea1_19fa,
    0x3d42_33dd,
    0x2a14_62b3,
];

impl Checksum for Bech32mLong {
    type MidstateRepr = u32;
    const CODE_LENGTH: usize = MAX_TOKEN_CHARS;
    const CHECKSUM_LENGTH: usize = 6;
    const GENERATOR_SH: [u32; 5] = GENERATOR;
    /// BIP 350's constant.
    const TARGET_RESIDUE: u32 = 0x2bc8_30a3;
}

/// Plain bech32 (BIP 173) with the same raised limit, only to tell a bech32 string apart.
enum Bech32Long {}

impl Checksum for Bech32Long {
    type MidstateRepr = u32;
    const CODE_LENGTH: usize = MAX_TOKEN_CHARS;
    const CHECKSUM_LENGTH: usize = 6;
    const GENERATOR_SH: [u32; 5] = GENERATOR;
    const TARGET_RESIDUE: u32 = 1;
}

/// Why a token could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a bech32 string at all (no `1` separator, characters outside the alphabet, mixed
    /// case, bad human-readable part).
    #[error("not a bech32 string")]
    NotBech32,
    /// Longer than [`MAX_TOKEN_CHARS`].
    #[error("token is {len} characters, more than the {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// [`MAX_TOKEN_CHARS`].
        max: usize,
    },
    /// The human-readable part is not [`TOKEN_HRP`].
    #[error("token's human-readable part is {found:?}, expected \"lnasync\"")]
    WrongHrp {
        /// The one found (lower case).
        found: String,
    },
    /// The checksum is that of bech32, not bech32m.
    #[error("token has a bech32 checksum, not bech32m")]
    NotBech32m,
    /// The checksum does not match: the token was mistyped or cut.
    #[error("token checksum does not match")]
    BadChecksum,
    /// The data does not end on a byte boundary with zero padding.
    #[error("token data is not canonically padded")]
    BadPadding,
    /// No data at all.
    #[error("token has no data")]
    Empty,
    /// A version this build does not know.
    #[error("unknown token version {0}")]
    UnknownVersion(u8),
    /// The token carries no paths.
    #[error("token carries no paths")]
    NoPaths,
    /// More than [`MAX_TOKEN_PATHS`] paths.
    #[error("token carries {0} paths, more than the 16 allowed")]
    TooManyPaths(usize),
    /// The data ends before the path with this index is complete.
    #[error("token is truncated in path {index}")]
    Truncated {
        /// The 0-based index of the path.
        index: usize,
    },
    /// The bytes of the path with this index are not a blinded message path.
    #[error("path {index} in the token is not a valid blinded message path")]
    BadPath {
        /// The 0-based index of the path.
        index: usize,
    },
    /// Bytes follow the last path.
    #[error("{0} bytes follow the last path")]
    TrailingBytes(usize),
    /// Not LDK's serialization of a list of blinded message paths (see
    /// [`RegistrationToken::from_ldk_paths`]).
    #[error("not LDK's serialization of a list of blinded message paths")]
    NotLdkPaths,
    /// A path serializes to more than 65 535 bytes.
    #[error("path {index} is too long to carry in a token")]
    PathTooLong {
        /// The 0-based index of the path.
        index: usize,
    },
}

/// The blinded paths to a static invoice server, as a recipient receives them.
///
/// Build it from the paths of `blinded_paths_for_async_recipient` with [`RegistrationToken::new`];
/// [`Display`](fmt::Display) gives the bech32m string and [`FromStr`] /
/// [`RegistrationToken::decode`] read it back. Hand [`RegistrationToken::into_paths`] to
/// `set_paths_to_static_invoice_server` (or use [`AsyncReceiver::apply_token`](crate::AsyncReceiver::apply_token)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationToken {
    paths: Vec<BlindedMessagePath>,
    encoded: String,
}

fn hrp() -> Hrp {
    // A valid constant: lower-case ASCII, 7 characters.
    Hrp::parse_unchecked(TOKEN_HRP)
}

impl RegistrationToken {
    /// A token carrying `paths` (1 to [`MAX_TOKEN_PATHS`], in order).
    pub fn new(paths: Vec<BlindedMessagePath>) -> Result<Self, TokenError> {
        if paths.is_empty() {
            return Err(TokenError::NoPaths);
        }
        if paths.len() > MAX_TOKEN_PATHS {
            return Err(TokenError::TooManyPaths(paths.len()));
        }
        let mut data = vec![TOKEN_VERSION, paths.len() as u8];
        for (index, path) in paths.iter().enumerate() {
            let bytes = path.encode();
            let len = u16::try_from(bytes.len()).map_err(|_| TokenError::PathTooLong { index })?;
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(&bytes);
        }
        let encoded =
            bech32::encode_lower::<Bech32mLong>(hrp(), &data).map_err(|_| TokenError::TooLong {
                len: bech32::encoded_length::<Bech32mLong>(hrp(), &data)
                    .unwrap_or_else(|e| e.encoded_length),
                max: MAX_TOKEN_CHARS,
            })?;
        Ok(RegistrationToken { paths, encoded })
    }

    /// Reads a token (upper or lower case, not mixed; surrounding whitespace is ignored).
    pub fn decode(token: &str) -> Result<Self, TokenError> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::TooLong {
                len: token.len(),
                max: MAX_TOKEN_CHARS,
            });
        }
        let unchecked = UncheckedHrpstring::new(token).map_err(|_| TokenError::NotBech32)?;
        let found = unchecked.hrp().to_lowercase();
        if found != TOKEN_HRP {
            return Err(TokenError::WrongHrp { found });
        }
        if unchecked.validate_checksum::<Bech32mLong>().is_err() {
            return Err(if unchecked.has_valid_checksum::<Bech32Long>() {
                TokenError::NotBech32m
            } else {
                TokenError::BadChecksum
            });
        }
        let checked = unchecked.remove_checksum::<Bech32mLong>();
        check_padding(checked.data_part_ascii_no_checksum())?;
        let data: Vec<u8> = checked.byte_iter().collect();
        let paths = parse_data(&data)?;
        Ok(RegistrationToken {
            paths,
            encoded: token.to_ascii_lowercase(),
        })
    }

    /// A token from LDK's own serialization of the paths (`Vec<BlindedMessagePath>` written
    /// with LDK's `Writeable`): what a static invoice server on LDK or ldk-node hands a
    /// recipient (ldk-node's `blinded_paths_for_async_recipient` in its bindings).
    pub fn from_ldk_paths(bytes: &[u8]) -> Result<Self, TokenError> {
        let mut rest = bytes;
        let paths: Vec<BlindedMessagePath> =
            Readable::read(&mut rest).map_err(|_| TokenError::NotLdkPaths)?;
        if !rest.is_empty() {
            return Err(TokenError::TrailingBytes(rest.len()));
        }
        Self::new(paths)
    }

    /// The paths in LDK's own serialization, for a recipient on LDK or ldk-node
    /// (`set_paths_to_static_invoice_server`); the inverse of [`Self::from_ldk_paths`].
    pub fn to_ldk_paths(&self) -> Vec<u8> {
        self.paths.encode()
    }

    /// The paths, in order.
    pub fn paths(&self) -> &[BlindedMessagePath] {
        &self.paths
    }

    /// The paths, for `set_paths_to_static_invoice_server`.
    pub fn into_paths(self) -> Vec<BlindedMessagePath> {
        self.paths
    }

    /// The token string (lower case).
    pub fn as_str(&self) -> &str {
        &self.encoded
    }
}

/// The data part's last character may carry only zero padding bits, fewer than 5 of them.
fn check_padding(ascii: &[u8]) -> Result<(), TokenError> {
    let bits = ascii.len() * 5;
    let pad = bits % 8;
    if pad >= 5 {
        return Err(TokenError::BadPadding);
    }
    if pad > 0 {
        let last = ascii
            .last()
            .and_then(|c| bech32::Fe32::from_char(char::from(*c)).ok())
            .ok_or(TokenError::BadPadding)?;
        if last.to_u8() & ((1 << pad) - 1) != 0 {
            return Err(TokenError::BadPadding);
        }
    }
    Ok(())
}

fn parse_data(data: &[u8]) -> Result<Vec<BlindedMessagePath>, TokenError> {
    let (&version, rest) = data.split_first().ok_or(TokenError::Empty)?;
    if version != TOKEN_VERSION {
        return Err(TokenError::UnknownVersion(version));
    }
    let (&count, mut rest) = rest.split_first().ok_or(TokenError::NoPaths)?;
    let count = usize::from(count);
    if count == 0 {
        return Err(TokenError::NoPaths);
    }
    if count > MAX_TOKEN_PATHS {
        return Err(TokenError::TooManyPaths(count));
    }
    let mut paths = Vec::with_capacity(count);
    for index in 0..count {
        let (len, after) = rest
            .split_first_chunk::<2>()
            .ok_or(TokenError::Truncated { index })?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (bytes, after) = after
            .split_at_checked(len)
            .ok_or(TokenError::Truncated { index })?;
        let path = crate::store::decode_path(bytes).ok_or(TokenError::BadPath { index })?;
        paths.push(path);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(TokenError::TrailingBytes(rest.len()));
    }
    Ok(paths)
}

impl fmt::Display for RegistrationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded)
    }
}

impl FromStr for RegistrationToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_consistent() {
        Bech32mLong::sanity_check();
        Bech32Long::sanity_check();
    }

    #[test]
    fn short_tokens_are_plain_bech32m() {
        // The same data under bech32 0.11's own Bech32m gives the same string.
        let data = [TOKEN_VERSION, 0];
        let ours = bech32::encode_lower::<Bech32mLong>(hrp(), &data).unwrap();
        let theirs = bech32::encode_lower::<bech32::Bech32m>(hrp(), &data).unwrap();
        assert_eq!(ours, theirs);
    }
}
