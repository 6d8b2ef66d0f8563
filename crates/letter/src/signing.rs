//! Ed25519 keys, signing of letters, and verification of signed letter files.
//!
//! Key text forms are the standard ones of RFC 8410: the secret key as PKCS#8 PEM
//! (`-----BEGIN PRIVATE KEY-----`) and the public key as SubjectPublicKeyInfo PEM
//! (`-----BEGIN PUBLIC KEY-----`). They are what OpenSSL writes and reads
//! (`openssl genpkey -algorithm ed25519`, `openssl pkey -pubout`), so a regulator can bring a key
//! made elsewhere and anyone can check a signature with tools they already trust.
//!
//! This module must not read or write files or decide expiry/revocation: the binary passes
//! bytes and text, and [`crate::status`] decides validity on a date.

use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::jcs;
use crate::letter::{LetterError, NoActionLetter, SCHEMA_V1};

/// The only signature algorithm of schema version 1.
pub const ALG_ED25519: &str = "Ed25519";

/// Errors about key material given as text or bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The secret key text is not an Ed25519 PKCS#8 PEM document.
    #[error("secret key is not an Ed25519 PKCS#8 PEM (\"BEGIN PRIVATE KEY\"): {reason}")]
    BadSecretKey {
        /// What the decoder said.
        reason: String,
    },
    /// The public key text is not an Ed25519 SubjectPublicKeyInfo PEM document.
    #[error("public key is not an Ed25519 SPKI PEM (\"BEGIN PUBLIC KEY\"): {reason}")]
    BadPublicKey {
        /// What the decoder said.
        reason: String,
    },
}

impl KeyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::BadSecretKey { .. } => "key.bad_secret_key",
            KeyError::BadPublicKey { .. } => "key.bad_public_key",
        }
    }
}

/// The regulator's signing key (secret and public part).
#[derive(Clone)]
pub struct Keypair {
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Keypair {
    // Never print secret material, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keypair")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl Keypair {
    /// A new random key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        Self {
            signing: ed25519_dalek::SigningKey::generate(&mut rng),
        }
    }

    /// The key whose 32-byte secret seed is `seed` (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// Read a PKCS#8 PEM secret key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map(|signing| Self { signing })
            .map_err(|e| KeyError::BadSecretKey {
                reason: e.to_string(),
            })
    }

    /// The secret key as PKCS#8 PEM. Store it with owner-only permissions.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .map_err(|e| KeyError::BadSecretKey {
                reason: e.to_string(),
            })
    }

    /// The public part.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_dalek(self.signing.verifying_key())
    }

    /// Key id of the public part.
    pub fn key_id(&self) -> String {
        self.public_key().key_id().to_owned()
    }

    /// A detached signature over `message` (used for feed files carried into a separated
    /// network). Callers prefix the message with their own domain tag so that a signature made
    /// for one purpose never verifies for another.
    pub fn sign_detached(&self, message: &[u8]) -> Signature {
        Signature {
            alg: ALG_ED25519.to_owned(),
            key_id: self.key_id(),
            value: base64::engine::general_purpose::STANDARD
                .encode(self.signing.sign(message).to_bytes()),
        }
    }
}

/// An Ed25519 public key with its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    verifying: ed25519_dalek::VerifyingKey,
    key_id: String,
}

impl PublicKey {
    fn from_dalek(verifying: ed25519_dalek::VerifyingKey) -> Self {
        let digest = Sha256::digest(verifying.as_bytes());
        let key_id = hex::encode(&digest[..8]);
        Self { verifying, key_id }
    }

    /// Read an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim())
            .map(Self::from_dalek)
            .map_err(|e| KeyError::BadPublicKey {
                reason: e.to_string(),
            })
    }

    /// The key from its 32 raw bytes (RFC 8032 encoding).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self::from_dalek)
            .map_err(|e| KeyError::BadPublicKey {
                reason: e.to_string(),
            })
    }

    /// The key as SPKI PEM, for publishing at the well-known URL.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.verifying
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::BadPublicKey {
                reason: e.to_string(),
            })
    }

    /// The 32 raw key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.verifying.to_bytes()
    }

    /// First 16 hex digits of SHA-256 of the raw key bytes.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// The public keys a verifier trusts. Rotation adds a key and keeps the old ones, so letters
/// signed before the rotation keep verifying.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<PublicKey>,
}

impl KeyRing {
    /// An empty ring (verifies nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key; adding a key already present changes nothing.
    pub fn add(&mut self, key: PublicKey) {
        if self.get(key.key_id()).is_none() {
            self.keys.push(key);
        }
    }

    /// A ring from keys.
    pub fn from_keys(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        let mut ring = Self::new();
        for key in keys {
            ring.add(key);
        }
        ring
    }

    /// A ring from a text holding one or more SPKI PEM public keys one after another
    /// (the well-known URL serves this form).
    pub fn from_pem_bundle(text: &str) -> Result<Self, KeyError> {
        const END: &str = "-----END PUBLIC KEY-----";
        let mut ring = Self::new();
        let mut rest = text;
        while let Some(end) = rest.find(END) {
            let (block, tail) = rest.split_at(end + END.len());
            ring.add(PublicKey::from_pem(block)?);
            rest = tail;
        }
        if !rest.trim().is_empty() || ring.keys.is_empty() {
            return Err(KeyError::BadPublicKey {
                reason: "text is not a sequence of PEM public keys".to_owned(),
            });
        }
        Ok(ring)
    }

    /// All keys as one PEM bundle, in the order added.
    pub fn to_pem_bundle(&self) -> Result<String, KeyError> {
        let mut out = String::new();
        for key in &self.keys {
            out.push_str(&key.to_pem()?);
        }
        Ok(out)
    }

    /// The key with this id.
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.key_id() == key_id)
    }

    /// The keys, in the order added.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Verifies a detached signature made by [`Keypair::sign_detached`] with a key of this ring.
    pub fn verify_detached(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), VerifyError> {
        if signature.alg != ALG_ED25519 {
            return Err(VerifyError::UnsupportedAlgorithm {
                alg: signature.alg.clone(),
            });
        }
        let key = self
            .get(&signature.key_id)
            .ok_or_else(|| VerifyError::UnknownKey {
                key_id: signature.key_id.clone(),
            })?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(signature.value.as_bytes())
            .map_err(|e| malformed("$.value", format!("not base64: {e}")))?;
        let raw: [u8; 64] = raw.as_slice().try_into().map_err(|_| {
            malformed(
                "$.value",
                format!("an Ed25519 signature is 64 bytes, found {}", raw.len()),
            )
        })?;
        key.verifying
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&raw))
            .map_err(|_| VerifyError::BadSignature {
                key_id: signature.key_id.clone(),
            })
    }
}

/// The signature block of a signed letter file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Algorithm; [`ALG_ED25519`].
    pub alg: String,
    /// Key id of the signing key.
    pub key_id: String,
    /// Signature bytes, standard base64 with padding.
    pub value: String,
}

impl Signature {
    /// A short fingerprint of the signature for print: the first 128 bits of SHA-256 of the
    /// signature value, as hex in groups of four. Lets a reader match a printout to a file.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.value.as_bytes());
        let hexed = hex::encode(&digest[..16]);
        let groups: Vec<&str> = (0..hexed.len())
            .step_by(4)
            .filter_map(|i| hexed.get(i..i + 4))
            .collect();
        groups.join(" ")
    }
}

/// A letter with its signature, as stored in a letter file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedLetter {
    /// The signed content.
    pub letter: NoActionLetter,
    /// The signature over the JCS bytes of `letter`.
    pub signature: Signature,
}

impl SignedLetter {
    /// The letter file: the whole document in JCS form, then a newline.
    ///
    /// Canonical output means the bytes a reader sees are the bytes that were signed.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, SignError> {
        let value = serde_json::to_value(self).map_err(|e| SignError::Serialize {
            reason: e.to_string(),
        })?;
        let mut bytes = jcs::canonicalize(&value).map_err(|e| SignError::Serialize {
            reason: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Why a letter could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The letter is inconsistent; nothing was signed.
    #[error("refusing to sign an invalid letter: {0}")]
    Invalid(#[from] LetterError),
    /// The letter could not be turned into canonical JSON.
    #[error("letter cannot be serialised to canonical JSON: {reason}")]
    Serialize {
        /// Details.
        reason: String,
    },
}

impl SignError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::Invalid(e) => e.code(),
            SignError::Serialize { .. } => "letter.serialize",
        }
    }
}

/// The JCS bytes of a letter: exactly what its signature covers.
pub fn canonical_bytes(letter: &NoActionLetter) -> Result<Vec<u8>, SignError> {
    let value = serde_json::to_value(letter).map_err(|e| SignError::Serialize {
        reason: e.to_string(),
    })?;
    jcs::canonicalize(&value).map_err(|e| SignError::Serialize {
        reason: e.to_string(),
    })
}

/// Sign a letter (after checking it is consistent).
pub fn sign(letter: &NoActionLetter, key: &Keypair) -> Result<SignedLetter, SignError> {
    letter.validate()?;
    let bytes = canonical_bytes(letter)?;
    let signature = key.signing.sign(&bytes);
    Ok(SignedLetter {
        letter: letter.clone(),
        signature: Signature {
            alg: ALG_ED25519.to_owned(),
            key_id: key.key_id(),
            value: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        },
    })
}

/// A letter whose signature checked out against a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLetter {
    /// The letter and its signature as read from the file.
    pub signed: SignedLetter,
    /// SHA-256 (hex) of the letter's canonical bytes: a stable id of the content.
    pub content_sha256: String,
}

impl VerifiedLetter {
    /// The letter.
    pub fn letter(&self) -> &NoActionLetter {
        &self.signed.letter
    }

    /// Key id that signed it.
    pub fn key_id(&self) -> &str {
        &self.signed.signature.key_id
    }

    /// One line for `haechi letter verify`: number, holder, validity, signing key.
    pub fn summary(&self) -> String {
        let l = self.letter();
        format!(
            "{} | {} / {} ({}) | valid {} to {} | signed by key {}",
            l.letter_number,
            l.holder.name.ko,
            l.holder.name.en,
            l.holder.institution_id,
            l.valid_from,
            l.valid_until,
            self.key_id()
        )
    }
}

/// Why a letter file did not verify. Each variant says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The file is not a well-formed letter file.
    #[error("malformed letter file at {location}: {message}")]
    Malformed {
        /// `line L column C` for JSON syntax errors, or a JSON path like `$.letter.valid_until`.
        location: String,
        /// What is wrong there.
        message: String,
    },
    /// The signature algorithm is not Ed25519.
    #[error("unsupported signature algorithm {alg:?} at $.signature.alg (only \"Ed25519\")")]
    UnsupportedAlgorithm {
        /// Algorithm named in the file.
        alg: String,
    },
    /// No trusted key has the signature's key id.
    #[error("unknown signing key {key_id:?}: not among the trusted public keys")]
    UnknownKey {
        /// Key id named in the file.
        key_id: String,
    },
    /// The signature does not match the content: the letter was altered after signing
    /// (or the signature bytes were).
    #[error("bad signature by key {key_id}: the letter content does not match its signature (altered after signing)")]
    BadSignature {
        /// Key id named in the file.
        key_id: String,
    },
    /// Signed correctly, but by a schema this build does not know.
    #[error("unsupported letter schema {schema:?} at $.letter.schema (expected {SCHEMA_V1:?})")]
    UnsupportedSchema {
        /// Schema id in the file.
        schema: String,
    },
    /// Signed correctly, but the letter's content is inconsistent.
    #[error("signed letter is invalid: {0}")]
    Invalid(LetterError),
}

impl VerifyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed { .. } => "letter.malformed",
            VerifyError::UnsupportedAlgorithm { .. } => "letter.unsupported_algorithm",
            VerifyError::UnknownKey { .. } => "letter.unknown_key",
            VerifyError::BadSignature { .. } => "letter.bad_signature",
            VerifyError::UnsupportedSchema { .. } => "letter.unsupported_schema",
            VerifyError::Invalid(e) => e.code(),
        }
    }
}

fn malformed(location: impl Into<String>, message: impl Into<String>) -> VerifyError {
    VerifyError::Malformed {
        location: location.into(),
        message: message.into(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value, base: &str) -> Result<T, VerifyError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let inner = e.path().to_string();
        let location = if inner == "." || inner.is_empty() {
            base.to_owned()
        } else {
            format!("{base}.{inner}")
        };
        malformed(location, e.into_inner().to_string())
    })
}

/// Verify a letter file against the trusted keys.
///
/// Order of checks, so that the reason is the most useful one: the file's shape, the algorithm,
/// the key, the signature over the canonical bytes of `letter` exactly as found in the file, and
/// only then the letter's schema and fields (a good signature on an unknown schema means "newer
/// format", not "forged").
pub fn verify(bytes: &[u8], ring: &KeyRing) -> Result<VerifiedLetter, VerifyError> {
    let value = jcs::parse_strict(bytes).map_err(|e| {
        malformed(
            format!("line {} column {}", e.line(), e.column()),
            e.to_string(),
        )
    })?;
    let Value::Object(mut top) = value else {
        return Err(malformed(
            "$",
            "expected an object with \"letter\" and \"signature\"",
        ));
    };
    if let Some(extra) = top.keys().find(|k| *k != "letter" && *k != "signature") {
        return Err(malformed(
            format!("$.{extra}"),
            "unexpected member (only \"letter\" and \"signature\" are allowed)",
        ));
    }
    let letter_value = top
        .remove("letter")
        .ok_or_else(|| malformed("$.letter", "missing"))?;
    if !letter_value.is_object() {
        return Err(malformed("$.letter", "expected an object"));
    }
    let signature_value = top
        .remove("signature")
        .ok_or_else(|| malformed("$.signature", "missing"))?;
    let signature: Signature = typed(signature_value, "$.signature")?;

    if signature.alg != ALG_ED25519 {
        return Err(VerifyError::UnsupportedAlgorithm { alg: signature.alg });
    }
    let key = ring
        .get(&signature.key_id)
        .ok_or_else(|| VerifyError::UnknownKey {
            key_id: signature.key_id.clone(),
        })?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(signature.value.as_bytes())
        .map_err(|e| malformed("$.signature.value", format!("not base64: {e}")))?;
    let raw: [u8; 64] = raw.as_slice().try_into().map_err(|_| {
        malformed(
            "$.signature.value",
            format!("an Ed25519 signature is 64 bytes, found {}", raw.len()),
        )
    })?;
    let canonical =
        jcs::canonicalize(&letter_value).map_err(|e| malformed("$.letter", e.to_string()))?;
    // verify_strict rejects malleable signatures and weak keys that plain verify accepts.
    key.verifying
        .verify_strict(&canonical, &ed25519_dalek::Signature::from_bytes(&raw))
        .map_err(|_| VerifyError::BadSignature {
            key_id: signature.key_id.clone(),
        })?;

    let schema = letter_value
        .get("schema")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if schema != SCHEMA_V1 {
        return Err(VerifyError::UnsupportedSchema { schema });
    }
    let letter: NoActionLetter = typed(letter_value, "$.letter")?;
    letter.validate().map_err(VerifyError::Invalid)?;
    Ok(VerifiedLetter {
        signed: SignedLetter { letter, signature },
        content_sha256: hex::encode(Sha256::digest(&canonical)),
    })
}
