//! No-action letters (비조치의견서): the document the FSC issues to an institution under the
//! AI-security network-separation relief program (SPEC §1 item 4, §3 C6).
//!
//! - [`letter`]: the document type ([`NoActionLetter`]) and its consistency rules.
//! - [`jcs`]: RFC 8785 canonical JSON, the exact bytes a signature covers.
//! - [`signing`]: Ed25519 keys (PKCS#8 / SPKI PEM), [`sign`], [`verify`] against a [`KeyRing`].
//! - [`status`]: whether a verified letter is in force on a date, given revocations.
//! - [`html`] and [`pdf`]: the print-ready bilingual page and the PDF with embedded Korean font,
//!   both able to carry the verification URL and its QR code ([`qr`]).
//! - [`document`]: any other plain bilingual text document as a PDF with the same font and
//!   writer (e.g. an institution's submitted report).
//!
//! This crate is a pure engine: no files, no clock, no network, no database, no async runtime.
//! Key files, the current date and the revocation list come from the caller (the `haechi`
//! binary and the service layer).

pub mod document;
pub mod html;
pub mod jcs;
pub mod letter;
pub mod pdf;
pub mod qr;
pub mod signing;
pub mod status;

pub use document::{render_text_document, Block, TextDocument};
pub use html::{print_css, render_html, render_html_with, HtmlOptions, Lang};
pub use letter::{
    Condition, ConditionKind, Holder, Issuer, LetterError, LocalizedText, NoActionLetter,
    PermittedScope, PermittedService, ReportKind, ReportingObligation, ServiceKind, SCHEMA_V1,
};
pub use pdf::{
    embedded_font, embedded_font_license, letter_number_of_pdf, render_pdf, render_pdf_with,
    PdfOptions, RenderError,
};
pub use signing::{
    canonical_bytes, sign, verify, KeyError, KeyRing, Keypair, PublicKey, SignError, Signature,
    SignedLetter, VerifiedLetter, VerifyError, ALG_ED25519,
};
pub use status::{status, LetterStatus, RevocationInfo};
