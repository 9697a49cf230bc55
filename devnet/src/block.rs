//! Building regtest blocks: the coinbase (BIP 34 height, subsidy plus fees, witness commitment
//! when needed), the merkle root, and a nonce that meets regtest's proof-of-work target.

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::opcodes::all::OP_RETURN;
use bitcoin::opcodes::OP_0;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    Amount, Block, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode,
    TxOut, Witness,
};

use super::params::{regtest_bits, BLOCK_VERSION};

/// Magic prefix of the witness commitment output's script (BIP 141).
const WITNESS_COMMITMENT_HEADER: [u8; 4] = [0xaa, 0x21, 0xa9, 0xed];

/// The BIP 34 height push that starts every coinbase scriptSig (as `CScript() << height`
/// encodes it: `OP_1`..`OP_16` for small heights, a minimal number push otherwise).
pub fn bip34_height_push(height: u32) -> ScriptBuf {
    Builder::new().push_int(i64::from(height)).into_script()
}

/// The coinbase scriptSig: the BIP 34 height, then an extra nonce (`OP_0` when zero) that makes
/// a block differ from an earlier one with the same parent and contents.
pub fn coinbase_script_sig(height: u32, extra_nonce: u32) -> ScriptBuf {
    let builder = Builder::new().push_int(i64::from(height));
    if extra_nonce == 0 {
        builder.push_opcode(OP_0).into_script()
    } else {
        builder.push_int(i64::from(extra_nonce)).into_script()
    }
}

/// A coinbase for `height` paying `value` to `script_pubkey`, with an extra nonce.
pub fn coinbase(
    height: u32,
    extra_nonce: u32,
    script_pubkey: ScriptBuf,
    value: Amount,
) -> Transaction {
    Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: coinbase_script_sig(height, extra_nonce),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value,
            script_pubkey,
        }],
    }
}

/// Whether any transaction in `txs` carries witness data.
pub fn has_witness(txs: &[Transaction]) -> bool {
    txs.iter()
        .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty()))
}

/// Assembles a block on `prev` at `time` from a coinbase (first) and other transactions: adds
/// the witness commitment if any transaction has a witness, sets the merkle root and grinds the
/// nonce until the header meets regtest's target.
pub fn assemble(
    prev: BlockHash,
    time: u32,
    mut coinbase: Transaction,
    txs: Vec<Transaction>,
) -> Block {
    let segwit = has_witness(&txs);
    let mut txdata = Vec::with_capacity(txs.len() + 1);
    if segwit {
        coinbase.input[0].witness = Witness::from_slice(&[[0u8; 32]]);
    }
    txdata.push(coinbase);
    txdata.extend(txs);
    let mut block = Block {
        header: Header {
            version: Version::from_consensus(BLOCK_VERSION),
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
            time,
            bits: regtest_bits(),
            nonce: 0,
        },
        txdata,
    };
    if segwit {
        if let Some(root) = block.witness_root() {
            let commitment = Block::compute_witness_commitment(&root, &[0u8; 32]);
            let mut data = PushBytesBuf::new();
            // 36 bytes always fit in a push.
            let _ = data.extend_from_slice(&WITNESS_COMMITMENT_HEADER);
            let _ = data.extend_from_slice(bitcoin::hashes::Hash::as_byte_array(&commitment));
            let script = Builder::new()
                .push_opcode(OP_RETURN)
                .push_slice(data)
                .into_script();
            block.txdata[0].output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: script,
            });
        }
    }
    if let Some(root) = block.compute_merkle_root() {
        block.header.merkle_root = root;
    }
    grind(&mut block.header);
    block
}

/// Increments the nonce (and the time, if the nonce space runs out) until the header's hash meets
/// its target. Regtest's target accepts about half of all hashes.
pub fn grind(header: &mut Header) {
    let target = header.target();
    loop {
        if header.validate_pow(target).is_ok() {
            return;
        }
        match header.nonce.checked_add(1) {
            Some(n) => header.nonce = n,
            None => {
                header.nonce = 0;
                header.time = header.time.saturating_add(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    #[test]
    fn assembled_block_is_valid() {
        let cb = coinbase(1, 0, ScriptBuf::new(), Amount::from_sat(50));
        let block = assemble(BlockHash::all_zeros(), 1_700_000_000, cb, vec![]);
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        assert!(block.header.validate_pow(block.header.target()).is_ok());
        assert_eq!(block.txdata[0].output.len(), 1);
    }

    #[test]
    fn bip34_height_is_readable() {
        for height in [1u32, 16, 17, 127, 128, 255, 256, 70_000] {
            let cb = coinbase(height, 0, ScriptBuf::new(), Amount::ZERO);
            let mut block = assemble(BlockHash::all_zeros(), 0, cb, vec![]);
            block.header.version = Version::TWO;
            if height > 16 {
                assert_eq!(block.bip34_block_height().ok(), Some(u64::from(height)));
            }
            assert!((2..=100).contains(&block.txdata[0].input[0].script_sig.len()));
        }
    }
}
