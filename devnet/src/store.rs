//! Optional persistence: an append-only log in the data directory (`chain.dat`) of every block
//! accepted and every `invalidateblock` / `reconsiderblock`, replayed at start. The mempool is
//! not persisted. The directory is locked for the store's life ([`DirLock`], `<dir>/lock`): a
//! second store on it, in this process or another, is refused with
//! [`StoreError::DataDirInUse`].
//!
//! Layout: the 8-byte magic `DEVNET\0\x02`, then records. A record is one tag byte (1 block,
//! 2 invalidate, 3 reconsider), a little-endian `u32` payload length, a 4-byte check of those 5
//! bytes, the payload (a consensus-encoded block, or a 32-byte block hash) and a 4-byte check of
//! the payload (each check: the first 4 bytes of the SHA-256 of what it covers).
//!
//! A torn record at the end (a crash mid-write: the file ends inside it) is cut off on open. Any
//! other bad record (a check that fails, an undecodable payload, a length over the limit) makes
//! `open` fail with [`StoreError::Corrupt`], naming the file and the record's offset: the records
//! after it cannot be trusted, and replaying a prefix would silently lose them.
//!
//! A log of the first format (no magic, no checks) is read once and rewritten in this one.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Block, BlockHash};
use lnedge_storage::dir_lock::{DirLock, DirLockError};

/// Name of the log file inside the data directory.
pub const CHAIN_FILE: &str = "chain.dat";
/// Largest payload accepted when reading (a block is at most 4 MB serialized).
const MAX_RECORD: u32 = 8_000_000;
/// First bytes of a log in the current format.
const MAGIC: &[u8; 8] = b"DEVNET\0\x02";
/// Tag, length and the check of both.
const HEAD_LEN: usize = 9;
/// Bytes of each check.
const CHECK_LEN: usize = 4;

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
    /// A complete record is damaged (a check fails or it does not decode).
    #[error("chain log {path}: corrupt record at byte {offset} ({reason}); the chain cannot be replayed past it (move the file away to start a fresh chain)")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another devnet (in this process or another) has the directory open.
    #[error("data dir {} is in use by {}", dir.display(), holder.map_or_else(|| "another process".to_string(), |pid| format!("process {pid}")))]
    DataDirInUse {
        /// The directory.
        dir: PathBuf,
        /// The holder's process id, when known.
        holder: Option<u32>,
    },
}

impl From<DirLockError> for StoreError {
    fn from(e: DirLockError) -> Self {
        match e {
            DirLockError::InUse { dir, holder } => StoreError::DataDirInUse { dir, holder },
            DirLockError::Io { dir, source } => StoreError::Io {
                path: dir.join(lnedge_storage::dir_lock::LOCK_FILE),
                source,
            },
        }
    }
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

/// The open log, positioned for appending; holds the directory's lock.
#[derive(Debug)]
pub struct ChainStore {
    path: PathBuf,
    file: File,
    _lock: DirLock,
}

impl ChainStore {
    /// Locks `dir` (creating it), opens (or creates) the log in it and returns it with the
    /// records it holds.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Record>), StoreError> {
        let path = dir.join(CHAIN_FILE);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = DirLock::acquire(dir)?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut start = [0u8; MAGIC.len()];
        let got = read_prefix(&mut file, &mut start).map_err(io)?;
        let records = if got == MAGIC.len() && start == *MAGIC {
            let (records, good_len) = read_records(&path, &mut file)?;
            if good_len < len {
                tracing::warn!(path = %path.display(), good_len, len, "cutting off a torn record");
                file.set_len(good_len).map_err(io)?;
            }
            records
        } else if MAGIC.starts_with(&start[..got]) {
            // New, or torn while its magic was being written.
            file.set_len(0).map_err(io)?;
            file.write_all(MAGIC)
                .and_then(|()| file.flush())
                .map_err(io)?;
            Vec::new()
        } else {
            let records = read_legacy(&path, &mut file)?;
            file = rewrite(&path, &records)?;
            tracing::info!(path = %path.display(), records = records.len(), "rewrote the chain log with record checks");
            records
        };
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((
            ChainStore {
                path,
                file,
                _lock: lock,
            },
            records,
        ))
    }

    /// Appends a record and flushes it to the operating system (no fsync: devnet state is
    /// disposable).
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        self.file
            .write_all(&encode(record))
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

/// The first 4 bytes of the SHA-256 of `bytes`.
fn check(bytes: &[u8]) -> [u8; CHECK_LEN] {
    let hash = sha256::Hash::hash(bytes).to_byte_array();
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Tag and payload of a record.
fn parts(record: &Record) -> (u8, Vec<u8>) {
    match record {
        Record::Block(block) => (1u8, serialize(block)),
        Record::Invalidate(hash) => (2u8, hash.to_byte_array().to_vec()),
        Record::Reconsider(hash) => (3u8, hash.to_byte_array().to_vec()),
    }
}

/// A record in the current format.
fn encode(record: &Record) -> Vec<u8> {
    let (tag, payload) = parts(record);
    let mut buf = Vec::with_capacity(HEAD_LEN + payload.len() + CHECK_LEN);
    buf.push(tag);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let head_check = check(&buf);
    buf.extend_from_slice(&head_check);
    buf.extend_from_slice(&payload);
    buf.extend_from_slice(&check(&payload));
    buf
}

/// Decodes a payload of `tag`; `None` if it does not decode.
fn decode(tag: u8, payload: &[u8]) -> Option<Record> {
    match tag {
        1 => deserialize(payload).ok().map(Record::Block),
        2 => BlockHash::from_slice(payload).ok().map(Record::Invalidate),
        3 => BlockHash::from_slice(payload).ok().map(Record::Reconsider),
        _ => None,
    }
}

/// Reads up to `buf.len()` bytes from the start of the file; returns how many.
fn read_prefix(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    file.seek(SeekFrom::Start(0))?;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads all complete records after the magic; returns them and the length of the well-formed
/// prefix (shorter than the file when the last record is torn).
fn read_records(path: &Path, file: &mut File) -> Result<(Vec<Record>, u64), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(MAGIC.len() as u64)).map_err(io)?;
    let mut reader = BufReader::new(&*file);
    let mut records = Vec::new();
    let mut offset = MAGIC.len() as u64;
    loop {
        let corrupt = |reason| StoreError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        let mut head = [0u8; HEAD_LEN];
        if !read_full(&mut reader, &mut head).map_err(io)? {
            break;
        }
        if check(&head[..5]) != head[5..] {
            return Err(corrupt("bad record header"));
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_RECORD {
            return Err(corrupt("record too long"));
        }
        let mut body = vec![0u8; len as usize + CHECK_LEN];
        if !read_full(&mut reader, &mut body).map_err(io)? {
            break;
        }
        let (payload, body_check) = body.split_at(len as usize);
        if check(payload) != body_check {
            return Err(corrupt("bad payload check"));
        }
        records.push(decode(head[0], payload).ok_or_else(|| corrupt("undecodable payload"))?);
        offset += (HEAD_LEN + body.len()) as u64;
    }
    Ok((records, offset))
}

/// Reads a log of the first format (no magic, no checks): tag, length, payload. A torn last
/// record is dropped.
fn read_legacy(path: &Path, file: &mut File) -> Result<Vec<Record>, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut reader = BufReader::new(&*file);
    let mut records = Vec::new();
    let mut offset: u64 = 0;
    loop {
        let corrupt = |reason| StoreError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        let mut head = [0u8; 5];
        if !read_full(&mut reader, &mut head).map_err(io)? {
            break;
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_RECORD {
            return Err(corrupt("record too long"));
        }
        let mut payload = vec![0u8; len as usize];
        if !read_full(&mut reader, &mut payload).map_err(io)? {
            break;
        }
        records.push(decode(head[0], &payload).ok_or_else(|| corrupt("undecodable payload"))?);
        offset += 5 + u64::from(len);
    }
    Ok(records)
}

/// Replaces the log at `path` by `records` in the current format (through a temporary file and
/// a rename); returns the new file open for appending.
fn rewrite(path: &Path, records: &[Record]) -> Result<File, StoreError> {
    let tmp = path.with_extension("dat.tmp");
    let io = |source| StoreError::Io {
        path: tmp.clone(),
        source,
    };
    let mut out = std::io::BufWriter::new(File::create(&tmp).map_err(io)?);
    out.write_all(MAGIC).map_err(io)?;
    for record in records {
        out.write_all(&encode(record)).map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
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

    #[test]
    fn a_log_of_the_first_format_is_rewritten_with_checks() {
        let dir = tempfile::tempdir().unwrap();
        let block = genesis_block(bitcoin::Network::Regtest);
        let mut old = Vec::new();
        for (tag, payload) in [
            (1u8, serialize(&block)),
            (2u8, block.block_hash().to_byte_array().to_vec()),
        ] {
            old.push(tag);
            old.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            old.extend_from_slice(&payload);
        }
        std::fs::write(dir.path().join(CHAIN_FILE), &old).unwrap();
        let expected = vec![
            Record::Block(block.clone()),
            Record::Invalidate(block.block_hash()),
        ];
        {
            let (mut store, records) = ChainStore::open(dir.path()).unwrap();
            assert_eq!(records, expected);
            store
                .append(&Record::Reconsider(block.block_hash()))
                .unwrap();
        }
        let bytes = std::fs::read(dir.path().join(CHAIN_FILE)).unwrap();
        assert!(bytes.starts_with(MAGIC));
        let (_, records) = ChainStore::open(dir.path()).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[..2], expected[..]);
    }

    #[test]
    fn the_directory_is_locked_while_the_store_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = ChainStore::open(dir.path()).unwrap();
        match ChainStore::open(dir.path()) {
            Err(StoreError::DataDirInUse { dir: d, holder }) => {
                assert_eq!(d, dir.path());
                assert_eq!(holder, Some(std::process::id()));
            }
            other => panic!("{other:?}"),
        }
        drop(store);
        ChainStore::open(dir.path()).unwrap();
    }
}
