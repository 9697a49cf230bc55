//! The data directory: the chain log refuses damage in the middle and repairs a torn tail, and
//! one chain at a time may have the directory open.

use lnedge_devnet::store::CHAIN_FILE;
use lnedge_devnet::{anyone_can_spend_script, Devnet, DevnetConfig, DevnetError, StoreError};

fn config(dir: &std::path::Path) -> DevnetConfig {
    DevnetConfig {
        data_dir: Some(dir.to_path_buf()),
        ..DevnetConfig::default()
    }
}

#[test]
fn a_bad_record_in_the_middle_is_refused_and_a_torn_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CHAIN_FILE);
    let tip_19 = {
        let devnet = Devnet::new(config(dir.path())).unwrap();
        devnet.mine(19, &anyone_can_spend_script()).unwrap();
        let tip = devnet.tip();
        devnet.mine(1, &anyone_can_spend_script()).unwrap();
        tip
    };
    let good = std::fs::read(&path).unwrap();

    // Four bytes in the middle.
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    for b in &mut bad[middle..middle + 4] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &bad).unwrap();
    match Devnet::new(config(dir.path())) {
        Err(DevnetError::Store(e @ StoreError::Corrupt { .. })) => {
            let StoreError::Corrupt {
                path: p, offset, ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(p, &path);
            assert!(*offset <= middle as u64, "{e}");
            let text = e.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(&format!("byte {offset}")), "{text}");
        }
        other => panic!("a corrupt log opened: {other:?}"),
    }
    // Refused, not repaired: the file is as it was.
    assert_eq!(std::fs::read(&path).unwrap(), bad);

    // The last record cut in the middle (a crash while appending): the intact prefix opens.
    std::fs::write(&path, &good[..good.len() - 10]).unwrap();
    {
        let devnet = Devnet::new(config(dir.path())).unwrap();
        assert_eq!(devnet.height(), 19);
        assert_eq!(devnet.tip(), tip_19);
        devnet.mine(1, &anyone_can_spend_script()).unwrap();
    }
    let devnet = Devnet::new(config(dir.path())).unwrap();
    assert_eq!(devnet.height(), 20);
}

#[test]
fn one_chain_per_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let first = Devnet::new(config(dir.path())).unwrap();
    let clone = first.clone();
    match Devnet::new(config(dir.path())) {
        Err(DevnetError::Store(e @ StoreError::DataDirInUse { .. })) => {
            assert_eq!(
                e.to_string(),
                format!(
                    "data dir {} is in use by process {}",
                    dir.path().display(),
                    std::process::id()
                )
            );
        }
        other => panic!("a second chain opened the data dir: {other:?}"),
    }
    // The lock goes with the last handle.
    drop(first);
    assert!(Devnet::new(config(dir.path())).is_err());
    drop(clone);
    let again = Devnet::new(config(dir.path())).unwrap();
    assert_eq!(again.height(), 0);
}
