//! Optional persistence: an append-only log in the data directory (`chain.dat`) of every block
//! accepted and every `invalidateblock` / `reconsiderblock`, replayed at start. The mempool is
//! not persisted.
//!
//! Record layout: one tag byte (1 block, 2 invalidate, 3 reconsider), a little-endian `u32`
//! payload length, then the payload (a consensus-encoded block, or a 32-byte block hash). A torn
//! record at the end (a crash mid-write) is cut off on open.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash};

/// Name of the log file inside the data directory.
pub const CHAIN_FILE: &str = "chain.dat";
/// Largest payload accepted when reading (a block is at most 4 MB serialized).
const MAX_RECORD: u32 = 8_000_000;

/// Errors of the chain log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("chain log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A complete record could not be decoded.
    #[error("chain log {path}: corrupt record at byte {offset}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
    },
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A block was accepted.
    Block(Block),
    /// `invalidateblock` was called.
    Invalidate(BlockHash),
    /// `reconsiderblock` was called.
    Reconsider(BlockHash),
}

/// The open log, positioned for appending.
#[derive(Debug)]
pub struct ChainStore {
    path: PathBuf,
    file: File,
}

impl ChainStore {
    /// Opens (or creates) the log in `dir` and returns it with the records it holds.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Record>), StoreError> {
        let path = dir.join(CHAIN_FILE);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let (records, good_len) = read_records(&path, &mut file)?;
        let len = file.metadata().map_err(io)?.len();
        if good_len < len {
            tracing::warn!(path = %path.display(), good_len, len, "cutting off a torn record");
            file.set_len(good_len).map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((ChainStore { path, file }, records))
    }

    /// Appends a record and flushes it to the operating system (no fsync: devnet state is
    /// disposable).
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        let (tag, payload) = match record {
            Record::Block(block) => (1u8, serialize(block)),
            Record::Invalidate(hash) => (2u8, hash.to_byte_array().to_vec()),
            Record::Reconsider(hash) => (3u8, hash.to_byte_array().to_vec()),
        };
        let mut buf = Vec::with_capacity(payload.len() + 5);
        buf.push(tag);
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&payload);
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.flush())
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads all complete records; returns them and the length of the well-formed prefix.
fn read_records(path: &Path, file: &mut File) -> Result<(Vec<Record>, u64), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = BufReader::new(&*file);
    let mut records = Vec::new();
    let mut offset: u64 = 0;
    loop {
        let mut head = [0u8; 5];
        if !read_full(&mut reader, &mut head).map_err(io)? {
            break;
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_RECORD {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                offset,
            });
        }
        let mut payload = vec![0u8; len as usize];
        if !read_full(&mut reader, &mut payload).map_err(io)? {
            break;
        }
        let corrupt = || StoreError::Corrupt {
            path: path.to_path_buf(),
            offset,
        };
        let record = match head[0] {
            1 => Record::Block(deserialize(&payload).map_err(|_| corrupt())?),
            2 | 3 => {
                let hash = BlockHash::from_slice(&payload).map_err(|_| corrupt())?;
                if head[0] == 2 {
                    Record::Invalidate(hash)
                } else {
                    Record::Reconsider(hash)
                }
            }
            _ => return Err(corrupt()),
        };
        records.push(record);
        offset += 5 + u64::from(len);
    }
    Ok((records, offset))
}

/// Fills `buf`; `false` if the stream ended first (a torn or absent record).
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::blockdata::constants::genesis_block;

    #[test]
    fn round_trips_and_cuts_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let block = genesis_block(bitcoin::Network::Regtest);
        {
            let (mut store, records) = ChainStore::open(dir.path()).unwrap();
            assert!(records.is_empty());
            store.append(&Record::Block(block.clone())).unwrap();
            store
                .append(&Record::Invalidate(block.block_hash()))
                .unwrap();
        }
        // A torn record: header only.
        let path = dir.path().join(CHAIN_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 200, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (_, records) = ChainStore::open(dir.path()).unwrap();
        assert_eq!(
            records,
            vec![
                Record::Block(block.clone()),
                Record::Invalidate(block.block_hash())
            ]
        );
        let (_, again) = ChainStore::open(dir.path()).unwrap();
        assert_eq!(again.len(), 2);
    }
}
