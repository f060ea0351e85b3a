//! The real clamd through clamav-client: EICAR found, a clean file passed,
//! and a scanner that cannot be reached is an error, never "clean".

use bytes::Bytes;
use futures::stream;
use intake_adapters::clamav::{ClamavConfig, ScanError, Scanner, Verdict};
use intake_tests::Stack;
use rand::{RngCore, SeedableRng};

/// The EICAR test file: harmless, and detected by every scanner.
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

#[tokio::test]
async fn eicar_is_detected() {
    let scanner = Scanner::new(&Stack::new().clamav());
    let verdict = scanner.scan_reader(EICAR).await.expect("scan");
    match verdict {
        Verdict::Infected { signature } => assert!(signature.contains("Eicar"), "{signature}"),
        Verdict::Clean => panic!("EICAR passed as clean"),
    }
}

#[tokio::test]
async fn a_clean_file_passes() {
    let scanner = Scanner::new(&Stack::new().clamav());
    // Unique bytes each run: clamd caches verdicts by hash.
    let mut data = vec![0u8; 3 * 1024 * 1024];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut data);
    assert_eq!(
        scanner.scan_reader(&data[..]).await.expect("scan"),
        Verdict::Clean
    );
}

#[tokio::test]
async fn eicar_split_across_stream_chunks_is_still_found() {
    let scanner = Scanner::new(&Stack::new().clamav());
    let chunks = EICAR.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c)));
    let verdict = scanner
        .scan_stream(stream::iter(chunks))
        .await
        .expect("scan");
    assert!(matches!(verdict, Verdict::Infected { .. }), "{verdict:?}");
}

#[tokio::test]
async fn an_unreachable_scanner_is_an_error_not_clean() {
    let scanner = Scanner::new(&ClamavConfig {
        // Nothing listens on the discard port here.
        address: "127.0.0.1:9".into(),
        chunk_size: 1024,
    });
    let result = scanner.scan_reader(&b"anything"[..]).await;
    assert!(
        matches!(result, Err(ScanError::Unreachable { .. })),
        "{result:?}"
    );
    assert!(scanner.ping().await.is_err());
}
