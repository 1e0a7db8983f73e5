//! Backups encrypted with age (X25519): the archive is built, then encrypted to the school's
//! public keys (`[backup] recipients`, or `--recipient`), so the server never holds what opens
//! it. A server checks what it wrote by adding one more recipient, a key made for this backup
//! alone and forgotten once the check is done: the file it verifies is the file it keeps.
//!
//! An encrypted backup is named `palisade-backup-…tar.age`; `--verify` and `restore` take the
//! private key with `--identity KEYFILE`. A wrong key, a changed header or changed or cut
//! ciphertext is refused, naming which.

use age::secrecy::ExposeSecret;
use age::x25519;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

/// How every age file begins.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The identities `--identity` read, and the file they came from (for messages).
pub struct Identities {
    pub file: String,
    pub keys: Vec<Box<dyn age::Identity + Send + Sync>>,
}

/// Whether the file at `path` is an age file (an encrypted backup).
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut head = [0u8; AGE_MAGIC.len()];
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got == head.len() && head == AGE_MAGIC)
}

/// An age public key, or an error naming where it came from.
pub fn parse_recipient(key: &str, from: &str) -> Result<x25519::Recipient> {
    x25519::Recipient::from_str(key.trim())
        .map_err(|e| anyhow::anyhow!("{from}: `{}` is not an age public key ({e})", key.trim()))
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments).
pub fn read_identities(path: &Path) -> Result<Identities> {
    let shown = path.display().to_string();
    let file = File::open(path).with_context(|| format!("cannot read the key file {shown}"))?;
    let parsed = age::IdentityFile::from_buffer(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{shown} is not an age key file: {e}"))?;
    let keys = parsed
        .into_identities()
        .map_err(|e| anyhow::anyhow!("{shown} is not an age key file: {e}"))?;
    if keys.is_empty() {
        bail!("{shown} holds no age private key");
    }
    Ok(Identities { file: shown, keys })
}

/// Makes a new private key, writes it to the new file `path` (mode 0600) and returns its
/// public key.
pub fn new_identity(path: &Path) -> Result<String> {
    let key = x25519::Identity::generate();
    let public = key.to_public().to_string();
    let mut out = create_private(path)?;
    writeln!(out, "# Palisade backup key; public key: {public}")?;
    writeln!(out, "{}", key.to_string().expose_secret())?;
    out.sync_all()?;
    Ok(public)
}

fn create_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Encrypts the file `plain` into the new file `out` (mode 0600) to `recipients` and `check`,
/// the key made for this backup's own check.
pub fn encrypt(
    plain: &Path,
    out: &Path,
    recipients: &[x25519::Recipient],
    check: &x25519::Recipient,
) -> Result<()> {
    let all: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .chain(std::iter::once(check as &dyn age::Recipient))
        .collect();
    let encryptor = age::Encryptor::with_recipients(all.into_iter())
        .map_err(|e| anyhow::anyhow!("cannot encrypt the backup: {e}"))?;
    let file = create_private(out)?;
    let mut writer = encryptor
        .wrap_output(std::io::BufWriter::new(file))
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mut input =
        File::open(plain).with_context(|| format!("cannot read {}", plain.display()))?;
    std::io::copy(&mut input, &mut writer)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let buffered = writer
        .finish()
        .with_context(|| format!("cannot write {}", out.display()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", out.display(), e.error()))?;
    file.sync_all()?;
    Ok(())
}

/// Decrypts the backup `file` into the new file `out` with `keys`, naming what is wrong: a
/// key it was not encrypted to, a damaged header, changed or cut ciphertext.
pub fn decrypt(
    file: &Path,
    out: &Path,
    keys: &[&(dyn age::Identity + Sync)],
    key_file: &str,
) -> Result<()> {
    use age::DecryptError as E;
    let shown = file.display();
    let input = File::open(file).with_context(|| format!("cannot read {shown}"))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::new(input)).map_err(|e| match e {
        E::InvalidHeader | E::UnknownFormat => anyhow::anyhow!(
            "{shown} is damaged: its encryption header cannot be read (changed or cut short)"
        ),
        other => anyhow::anyhow!("{shown} cannot be read as an encrypted backup: {other}"),
    })?;
    let mut reader = decryptor
        .decrypt(keys.iter().map(|k| *k as &dyn age::Identity))
        .map_err(|e| match e {
            E::NoMatchingKeys => anyhow::anyhow!(
                "wrong key: {shown} was not encrypted to the key in {key_file} (nothing was read)"
            ),
            E::InvalidMac => anyhow::anyhow!(
                "{shown} is damaged: its encryption header was changed (its MAC does not match)"
            ),
            E::DecryptionFailed | E::KeyDecryptionFailed => anyhow::anyhow!(
                "{shown} is damaged: its encryption header was changed (the key inside does not \
             decrypt)"
            ),
            other => anyhow::anyhow!("{shown} cannot be decrypted: {other}"),
        })?;
    let mut output = create_private(out)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => bail!(
                "{shown} is damaged: the encrypted data does not authenticate after {done} \
                 bytes (changed or cut short: {e})"
            ),
        };
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n])?;
        done += n as u64;
    }
    output.sync_all()?;
    Ok(())
}

/// A key made for one backup's own check, and its public half to encrypt to.
pub fn check_key() -> (x25519::Identity, x25519::Recipient) {
    let key = x25519::Identity::generate();
    let public = key.to_public();
    (key, public)
}

/// The public key of the private key in the age key file at `path`.
pub fn public_of(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .with_context(|| format!("{} holds no age private key", path.display()))?;
    let key = x25519::Identity::from_str(line)
        .map_err(|e| anyhow::anyhow!("{} is not an age key file: {e}", path.display()))?;
    Ok(key.to_public().to_string())
}
