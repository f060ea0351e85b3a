//! The local stack's keys and tokens are committed to the repository so
//! that `make run` works on a new machine, which means anyone can read
//! them. A service refuses to start with one of them unless it is told it
//! runs the local stack (`INTAKE_LOCAL_STACK=true`), so a deployment that
//! copied the local settings fails at once instead of running with public
//! secrets.

use sha2::{Digest, Sha256};

/// SHA-256 of every secret in `infra/local/stack.env` and of the local
/// DKIM key, each without white space and in upper case (see `fingerprint`;
/// a test keeps this list and those files in step).
const COMMITTED: &[&str] = &[
    // INTAKE_GATEWAY__SECUREMAIL_TOKEN
    "a69a31bfc3e04d5941bd1295ea613563804ccdb478c70f348fc545f6dcdf09d2",
    // INTAKE_GATEWAY__ENTERFINLAND_TOKEN
    "fe123ddd3e4adc9147dc316a08942356bbd6e8b3ced166342b31a76a5e3ff0dc",
    // INTAKE_S3__SECRET_ACCESS_KEY
    "4012230ca8d09b4ce1bac478e1b74e1d007708cd8dba869e13b5a4612b3b7da1",
    // INTAKE_RECEIPTS__ESERVICE_TOKEN
    "8c102a32998e3f2e97cdf7282da533a5e3c4899afe1936e77039754cc714abd6",
    // INTAKE_WORKER__IDENTITIES, INTAKE_INBOX__IDENTITIES
    "7a07ea57ea3fdff19c37c3ad0782f5daa44510597536dc8519f93d658bf6d6d6",
    // INTAKE_GATEWAY__RECIPIENTS, INTAKE_WORKER__RECIPIENTS: not secret,
    // but its private half is committed, so sealing to it seals to anyone.
    "6cf23f028ba54c1a4affd682f4be34ff6571a07052ab0217d687c93edf11a735",
    // INTAKE_INBOX__OIDC__CLIENT_SECRET
    "bc178ceebf32f132caaa5ba23ffd8474dcbef8c65bb1a26dd48a404b1408e371",
    // INTAKE_INBOX__SESSION_KEY
    "9e56e97425e811979d655cf952ca2e1f309b80291b59ed7df4f0dc7dead72fde",
    // INTAKE_AUDIT__SIGNING_KEY
    "bc37709934ae70287ab3aa600c31245c29c241566ccf80cd7a52c9cf4f057414",
    // infra/local/dkim/local.pem
    "9247f348cbf59fbe84fd66d403a28e220290d097fe28ce1c26d52a66007bb53b",
];

/// A value as compared: white space (line ends of a PEM, padding) and
/// letter case (age keys are bech32, which ignores it) do not make a
/// committed secret a different one.
fn fingerprint(value: &[u8]) -> String {
    let normal: Vec<u8> = value
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(u8::to_ascii_uppercase)
        .collect();
    hex::encode(Sha256::digest(normal))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{setting} holds a secret committed to the repository for the local stack, which anyone \
     can read: configure one of your own (or set INTAKE_LOCAL_STACK=true if this is the local stack)"
)]
pub struct CommittedSecret {
    pub setting: String,
}

/// Fails on the first secret that is one of the committed ones, unless
/// `local_stack`. `secrets` pairs a setting's name with its value.
pub fn refuse_committed<'a>(
    local_stack: bool,
    secrets: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), CommittedSecret> {
    if local_stack {
        return Ok(());
    }
    for (setting, value) in secrets {
        if COMMITTED.contains(&fingerprint(value).as_str()) {
            return Err(CommittedSecret {
                setting: setting.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn repo() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").leak()
    }

    #[test]
    fn every_committed_secret_is_known() {
        let env = std::fs::read_to_string(repo().join("infra/local/stack.env")).expect("stack.env");
        // Every credential-like setting; a new one must be added to the list.
        let secret_names = [
            "TOKEN",
            "SECRET",
            "IDENTITIES",
            "RECIPIENTS",
            "PASSWORD",
            "KEY_ID",
            "SESSION_KEY",
            "SIGNING_KEY",
        ];
        let public = ["INTAKE_S3__ACCESS_KEY_ID"];
        let mut checked = 0;
        for line in env.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            if name.starts_with("INTAKE_")
                && secret_names.iter().any(|s| name.contains(s))
                && !public.contains(&name)
            {
                for value in value.split(',') {
                    checked += 1;
                    assert!(
                        refuse_committed(false, [(name, value.as_bytes())]).is_err(),
                        "{name} is committed but not refused"
                    );
                }
            }
        }
        assert!(checked >= 5, "found the secrets in stack.env");
        let dkim = std::fs::read(repo().join("infra/local/dkim/local.pem")).expect("key");
        assert!(refuse_committed(false, [("dkim", dkim.as_slice())]).is_err());
    }

    #[test]
    fn the_local_stack_may_use_them_and_others_pass() {
        let token = b"local-securemail-token".as_slice();
        assert_eq!(
            refuse_committed(false, [("gateway.securemail_token", token)]),
            Err(CommittedSecret {
                setting: "gateway.securemail_token".into()
            })
        );
        assert_eq!(refuse_committed(true, [("t", token)]), Ok(()));
        for disguised in [
            &b" LOCAL-SECUREMAIL-TOKEN\n"[..],
            b"age-secret-key-1uj2nr4tl0jagca3guh86ceks4n0ma0x3nknjnywh82e9q62mjhlsn27cm6",
        ] {
            assert!(refuse_committed(false, [("t", disguised)]).is_err());
        }
        assert_eq!(
            refuse_committed(false, [("t", b"a-real-secret".as_slice())]),
            Ok(())
        );
    }
}
