//! A small reusable text document rendered as a PDF with the same embedded Korean font, layout
//! and writer as the letter ([`crate::pdf`]): titles, headings, paragraphs (line breaks kept,
//! long lines wrapped), `label: value` fields and rules, with a footer on every page. Used for
//! documents other than the letter, e.g. a submitted report of an institution.
//!
//! Like the letter's PDF it does no I/O and has no clock: the same document gives the same bytes.

use crate::pdf::{write_pdf, Layout, Metrics};
use crate::RenderError;

/// One block of a [`TextDocument`], laid out top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A large centred title.
    Title(String),
    /// A smaller centred line under the title.
    Subtitle(String),
    /// A section heading with a rule under it (Korean, English).
    Heading(String, String),
    /// A sub-heading in bold.
    Subheading(String),
    /// Body text; line breaks are kept and long lines wrapped.
    Paragraph(String),
    /// Smaller body text (e.g. the English beside the Korean, or a note).
    Small(String),
    /// `label (label in English):  value`.
    Field {
        ko: String,
        en: String,
        value: String,
    },
    /// A thin horizontal rule.
    Rule,
    /// Vertical space, in points.
    Gap(f32),
    /// Keep the next `height` points on one page (start a new page if they do not fit).
    KeepTogether(f32),
}

/// A plain text document: its blocks, the footer printed on every page with the page number,
/// the title of the PDF's document information and searchable ASCII information pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextDocument {
    pub title: String,
    pub footer: String,
    pub blocks: Vec<Block>,
    /// `(key, value)`: document-information entries. Keys are reduced to ASCII letters and
    /// digits, values to printable ASCII, so that they can be found in the file's bytes.
    pub info: Vec<(String, String)>,
}

/// Renders a [`TextDocument`] as an A4 PDF.
pub fn render_text_document(doc: &TextDocument) -> Result<Vec<u8>, RenderError> {
    let metrics = Metrics::embedded()?;
    let mut layout = Layout::new(&metrics);
    for block in &doc.blocks {
        match block {
            Block::Title(t) => layout.centered(t, 20.0, true),
            Block::Subtitle(t) => layout.centered(t, 12.0, false),
            Block::Heading(ko, en) => layout.heading(ko, en),
            Block::Subheading(t) => {
                layout.gap(4.0);
                layout.text(t, 10.5, true, 0.0);
            }
            Block::Paragraph(t) => layout.text(t, 10.0, false, 0.0),
            Block::Small(t) => layout.text(t, 8.5, false, 0.0),
            Block::Field { ko, en, value } => layout.field(ko, en, value),
            Block::Rule => layout.rule(0.6),
            Block::Gap(h) => layout.gap(*h),
            Block::KeepTogether(h) => layout.ensure(*h),
        }
    }
    let info: Vec<(Vec<u8>, String)> = doc
        .info
        .iter()
        .map(|(k, v)| {
            (
                k.bytes()
                    .filter(u8::is_ascii_alphanumeric)
                    .collect::<Vec<u8>>(),
                v.chars()
                    .filter(|c| c.is_ascii_graphic() || *c == ' ')
                    .filter(|c| !matches!(c, '(' | ')' | '\\'))
                    .collect(),
            )
        })
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let pairs: Vec<(&[u8], &str)> = info
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_str()))
        .collect();
    write_pdf(&metrics, layout, &doc.footer, &doc.title, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_document_is_a_pdf_whose_text_and_info_can_be_found() {
        let long = "가나다라 ".repeat(600);
        let doc = TextDocument {
            title: "보고서 Report".into(),
            footer: "Haechi".into(),
            blocks: vec![
                Block::Title("분기 보고서".into()),
                Block::Heading("서술".into(), "Narrative".into()),
                Block::Paragraph(format!("첫 줄\n둘째 줄 second line\n{long}")),
                Block::Field {
                    ko: "내용 해시".into(),
                    en: "Content hash".into(),
                    value: "abc123def".into(),
                },
            ],
            info: vec![("HaechiContentHash".into(), "abc123def".into())],
        };
        let pdf = render_text_document(&doc).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let needle = b"/HaechiContentHash (abc123def)";
        assert!(pdf.windows(needle.len()).any(|w| w == needle));
        let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
        for m in ["분기 보고서", "second line", "abc123def", "Haechi  —  2 /"] {
            assert!(text.contains(m), "{m:?} not in {text}");
        }
    }
}
