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
    let verdict = scanner.scan_bytes(EICAR).await.expect("scan");
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
        scanner.scan_bytes(&data).await.expect("scan"),
        Verdict::Clean
    );
}

#[tokio::test]
async fn eicar_split_across_stream_chunks_is_still_found() {
    let scanner = Scanner::new(&Stack::new().clamav());
    let chunks = EICAR.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c)));
    let verdict = scanner
        .scan_stream(stream::iter(chunks), EICAR.len() as u64)
        .await
        .expect("scan");
    assert!(matches!(verdict, Verdict::Infected { .. }), "{verdict:?}");
}

#[tokio::test]
async fn an_unreachable_scanner_is_an_error_not_clean() {
    // Nothing listens on the discard port here.
    let scanner = Scanner::new(&ClamavConfig::at("127.0.0.1:9"));
    let result = scanner.scan_bytes(b"anything").await;
    assert!(
        matches!(result, Err(ScanError::Unreachable { .. })),
        "{result:?}"
    );
    assert!(scanner.ping().await.is_err());
}

#[tokio::test]
async fn a_scanner_that_never_answers_times_out() {
    // Accepts the connection, reads everything, never replies.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut sink).await;
            held.push(socket);
        }
    });
    let mut config = ClamavConfig::at(address);
    config.timeout = std::time::Duration::from_millis(300);
    let scanner = Scanner::new(&config);
    let result = scanner.scan_bytes(b"anything").await;
    assert!(matches!(result, Err(ScanError::Timeout(_))), "{result:?}");
    assert!(matches!(scanner.ping().await, Err(ScanError::Timeout(_))));
}

#[tokio::test]
async fn over_the_stream_limit_is_never_sent_and_never_clean() {
    let mut config = Stack::new().clamav();
    config.max_stream_bytes = 1000;
    let scanner = Scanner::new(&config);
    let result = scanner.scan_bytes(&[b'x'; 1001]).await;
    let error = result.expect_err("over the limit");
    assert!(error.can_never_succeed(), "{error:?}");
}

#[tokio::test]
async fn encrypted_archives_raise_clamds_heuristic_not_a_virus_name() {
    let scanner = Scanner::new(&Stack::new().clamav());
    let locked = intake_generator::files::zip(&[("palkat.pdf", b"%PDF-1.4 x")], Some("salasana"));
    match scanner.scan_bytes(&locked).await.expect("scan") {
        Verdict::Infected { signature } => {
            assert!(signature.starts_with("Heuristics.Encrypted"), "{signature}")
        }
        Verdict::Clean => panic!("an encrypted archive passed as clean (AlertEncrypted off?)"),
    }
}
