//! The signed letter as a PDF (A4) with embedded Korean font.
//!
//! The font is NanumGothic (SIL OFL 1.1, `assets/fonts/OFL.txt`), compiled into the binary so
//! that rendering works offline and the same on every machine. Only the glyphs the letter uses
//! are embedded (subset), written as a CID-keyed TrueType font with a `/ToUnicode` map so the
//! text (including the Korean title) can be searched and extracted.
//!
//! This module lays out plain text, rules and filled rectangles (the verification QR code) only:
//! no images, no links, no scripts. It does no I/O: the
//! PDF comes back as bytes.

use std::collections::{BTreeMap, BTreeSet};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, TextRenderingMode, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};

use crate::letter::{ConditionKind, LocalizedText};
use crate::signing::SignedLetter;

/// NanumGothic Regular, SIL Open Font License 1.1.
static FONT: &[u8] = include_bytes!("../assets/fonts/NanumGothic.ttf");
static FONT_LICENSE: &str = include_str!("../assets/fonts/OFL.txt");

/// The embedded Korean font (NanumGothic Regular, TrueType), e.g. for the web layer to serve
/// as a web font so the HTML page renders the same offline.
pub fn embedded_font() -> &'static [u8] {
    FONT
}

/// The licence of [`embedded_font`] (SIL Open Font License 1.1), to ship alongside it.
pub fn embedded_font_license() -> &'static str {
    FONT_LICENSE
}

/// Why a PDF could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The embedded font could not be read (a build problem, not a letter problem).
    #[error("embedded font cannot be parsed: {reason}")]
    Font {
        /// Parser's message.
        reason: String,
    },
    /// The font subset could not be built.
    #[error("font subsetting failed: {reason}")]
    Subset {
        /// Subsetter's message.
        reason: String,
    },
}

impl RenderError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::Font { .. } => "pdf.font",
            RenderError::Subset { .. } => "pdf.subset",
        }
    }
}

// A4 in points, and margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const MARGIN_TOP: f32 = 60.0;
const MARGIN_BOTTOM: f32 = 64.0;
const FOOTER_Y: f32 = 36.0;
const FONT_NAME: &[u8] = b"F1";

/// Glyph metrics of the embedded font, for wrapping.
pub(crate) struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
    fallback: char,
}

impl Metrics<'_> {
    fn glyph_char(&self, c: char) -> char {
        if self.face.glyph_index(c).is_some() {
            c
        } else {
            // A character the font lacks is printed as '?', which keeps the text readable and
            // extractable instead of showing an empty box mapped to nothing.
            self.fallback
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        let upem = f32::from(self.face.units_per_em());
        text.chars()
            .map(|c| {
                let c = self.glyph_char(c);
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map_or(0.0, f32::from)
            })
            .sum::<f32>()
            * size
            / upem
    }

    /// Break text into lines no wider than `max`: at spaces where possible, else anywhere
    /// (Korean and long ids have to break somewhere).
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ') {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if self.width(&next, size) > max && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}

/// One piece of placed text or a rule on a page.
pub(crate) enum Mark {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Rule {
        y: f32,
        width: f32,
    },
    /// A filled black rectangle (a run of QR-code modules).
    Block {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

pub(crate) struct Layout<'a> {
    metrics: &'a Metrics<'a>,
    pages: Vec<Vec<Mark>>,
    y: f32,
}

impl<'a> Layout<'a> {
    pub(crate) fn new(metrics: &'a Metrics<'a>) -> Self {
        Self {
            metrics,
            pages: vec![Vec::new()],
            y: PAGE_H - MARGIN_TOP,
        }
    }

    pub(crate) fn ensure(&mut self, height: f32) {
        if self.y - height < MARGIN_BOTTOM {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN_TOP;
        }
    }

    fn push(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    pub(crate) fn text(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        let max = PAGE_W - 2.0 * MARGIN_X - indent;
        for line in self.metrics.wrap(text, size, max) {
            let leading = size * 1.45;
            self.ensure(leading);
            self.y -= leading;
            self.push(Mark::Text {
                x: MARGIN_X + indent,
                y: self.y,
                size,
                bold,
                text: line,
            });
        }
    }

    pub(crate) fn centered(&mut self, text: &str, size: f32, bold: bool) {
        let leading = size * 1.45;
        self.ensure(leading);
        self.y -= leading;
        let w = self.metrics.width(text, size);
        self.push(Mark::Text {
            x: ((PAGE_W - w) / 2.0).max(MARGIN_X),
            y: self.y,
            size,
            bold,
            text: text.to_owned(),
        });
    }

    pub(crate) fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    pub(crate) fn rule(&mut self, width: f32) {
        self.ensure(6.0);
        self.y -= 4.0;
        self.push(Mark::Rule { y: self.y, width });
        self.y -= 2.0;
    }

    pub(crate) fn heading(&mut self, ko: &str, en: &str) {
        self.ensure(40.0);
        self.gap(8.0);
        self.text(&format!("{ko}  {en}"), 12.0, true, 0.0);
        self.rule(0.6);
    }

    pub(crate) fn both(&mut self, t: &LocalizedText, indent: f32) {
        self.text(&t.ko, 10.0, false, indent);
        self.text(&t.en, 9.0, false, indent);
    }

    pub(crate) fn field(&mut self, label_ko: &str, label_en: &str, value: &str) {
        self.text(
            &format!("{label_ko} ({label_en}):  {value}"),
            10.0,
            false,
            0.0,
        );
    }
}

fn condition_label(kind: ConditionKind) -> (&'static str, &'static str) {
    match kind {
        ConditionKind::InternalControl => ("내부통제", "Internal control"),
        ConditionKind::CertifiedServicesOnly => ("인증 서비스 한정", "Certified services only"),
        ConditionKind::ReportingDuty => ("보고 의무", "Reporting duty"),
        ConditionKind::SupplementarySecurity => ("보완 보안대책", "Supplementary security"),
        ConditionKind::Other => ("기타", "Other"),
    }
}

/// The verification address and its QR code, side by side, never split across pages.
fn verification(layout: &mut Layout<'_>, url: &str) {
    const SIDE: f32 = 84.0;
    layout.ensure(SIDE + 12.0);
    layout.gap(6.0);
    let top = layout.y;
    if let Some(qr) = crate::qr::QrModules::encode(url) {
        // A four-module quiet zone on each side, inside SIDE.
        let m = SIDE / (qr.width + 8) as f32;
        for (x, y, len) in qr.runs() {
            layout.push(Mark::Block {
                x: MARGIN_X + (x + 4) as f32 * m,
                y: top - (y + 5) as f32 * m,
                w: len as f32 * m,
                h: m,
            });
        }
    }
    let indent = SIDE + 10.0;
    layout.gap(8.0);
    layout.text("진위 확인 (Verify)", 10.0, true, indent);
    layout.text(url, 9.0, false, indent);
    layout.text(
        "이 주소에 접속하거나 QR 코드를 읽으면 서명과 취소 여부를 확인할 수 있습니다.",
        9.0,
        false,
        indent,
    );
    layout.text(
        "Open this address or scan the QR code to check the signature and whether the letter was revoked.",
        9.0,
        false,
        indent,
    );
    layout.y = layout.y.min(top - SIDE);
}

fn lay_out(signed: &SignedLetter, options: &PdfOptions<'_>, layout: &mut Layout<'_>) {
    let l = &signed.letter;
    layout.centered("비조치의견서", 24.0, true);
    layout.centered("No-Action Letter", 13.0, false);
    layout.gap(4.0);
    layout.rule(1.5);
    layout.gap(4.0);
    layout.field("문서번호", "Letter number", &l.letter_number);
    layout.field(
        "발급기관",
        "Issuer",
        &format!("{} / {}", l.issuer.name.ko, l.issuer.name.en),
    );
    layout.field(
        "수신기관",
        "Holder",
        &format!(
            "{} / {} ({})",
            l.holder.name.ko, l.holder.name.en, l.holder.institution_id
        ),
    );
    layout.field("발급일", "Issued on", &l.issued_on.to_string());
    layout.field(
        "유효기간",
        "Validity",
        &format!("{} ~ {}", l.valid_from, l.valid_until),
    );
    if let Some(prev) = &l.renews {
        layout.field("갱신 대상", "Renews", prev);
    }
    layout.field("정책 버전", "Policy version", &l.policy_version.to_string());

    layout.heading("근거", "Legal basis");
    layout.both(&l.legal_basis, 0.0);

    layout.heading("허용 범위", "Permitted scope");
    for (i, s) in l.scope.services.iter().enumerate() {
        let kind = s.kind.label();
        layout.text(
            &format!(
                "{}. {} — {} ({} / {})",
                i + 1,
                s.name,
                s.vendor,
                kind.ko,
                kind.en
            ),
            10.0,
            true,
            0.0,
        );
        layout.text(
            &format!("인증 Certifications: {}", s.certifications.join(", ")),
            9.0,
            false,
            14.0,
        );
        layout.text(
            &format!("데이터 등급 Data classes: {}", s.data_classes.join(", ")),
            9.0,
            false,
            14.0,
        );
    }

    layout.heading("조건", "Conditions");
    for (i, c) in l.conditions.iter().enumerate() {
        let (ko, en) = condition_label(c.kind);
        layout.text(&format!("{}. {ko} / {en}", i + 1), 10.0, true, 0.0);
        layout.both(&c.text, 14.0);
    }

    layout.heading("보고 일정", "Reporting schedule");
    for r in &l.reporting {
        let kind = r.kind.label();
        layout.text(
            &format!(
                "{} / {}: {} ~ {}, 기한 due {}",
                kind.ko, kind.en, r.period_start, r.period_end, r.due_on
            ),
            10.0,
            false,
            0.0,
        );
    }

    // The signature block is what a reader checks a printout against: never split it.
    layout.ensure(130.0);
    layout.heading("전자서명", "Signature");
    layout.text(
        "이 문서의 원본은 금융위원회의 Ed25519 전자서명이 포함된 파일입니다. haechi letter verify 또는 공개 검증 페이지에서 확인하십시오.",
        9.0,
        false,
        0.0,
    );
    layout.text(
        "The original of this letter is a file signed with the regulator's Ed25519 key. Verify it with `haechi letter verify` or on the public verification page.",
        9.0,
        false,
        0.0,
    );
    layout.field("알고리즘", "Algorithm", &signed.signature.alg);
    layout.field("키 ID", "Key id", &signed.signature.key_id);
    layout.field(
        "서명 지문",
        "Signature fingerprint",
        &signed.signature.fingerprint(),
    );
    if let Some(url) = options.verify_url {
        verification(layout, url);
    }
}

/// The document-information key under which the PDF carries its letter number.
const NUMBER_KEY: &[u8] = b"HaechiLetterNumber";

/// The letter number a PDF rendered here carries, if these bytes are such a PDF. The PDF is not
/// the signed original: a caller may look the number up in its register, never trust the rest.
pub fn letter_number_of_pdf(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"%PDF-") {
        return None;
    }
    let mut key = b"/".to_vec();
    key.extend_from_slice(NUMBER_KEY);
    key.extend_from_slice(b" (");
    let at = bytes.windows(key.len()).position(|w| w == key.as_slice())? + key.len();
    let rest = bytes.get(at..)?;
    let end = rest.iter().take(64).position(|b| *b == b')')?;
    let number = std::str::from_utf8(rest.get(..end)?).ok()?;
    (!number.is_empty()
        && number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then(|| number.to_string())
}

/// How [`render_pdf_with`] renders the letter.
#[derive(Debug, Clone, Copy, Default)]
pub struct PdfOptions<'a> {
    /// The public verification URL of the letter, printed with its QR code.
    pub verify_url: Option<&'a str>,
}

/// Render a signed letter as a PDF document.
pub fn render_pdf(signed: &SignedLetter) -> Result<Vec<u8>, RenderError> {
    render_pdf_with(signed, &PdfOptions::default())
}

/// [`render_pdf`] with the verification URL and its QR code, if given.
pub fn render_pdf_with(
    signed: &SignedLetter,
    options: &PdfOptions<'_>,
) -> Result<Vec<u8>, RenderError> {
    let metrics = Metrics::embedded()?;
    let mut layout = Layout::new(&metrics);
    lay_out(signed, options, &mut layout);
    let title = format!("비조치의견서 {}", signed.letter.letter_number);
    // The number as plain ASCII too, so a verification page can find it in an uploaded PDF
    // (see [`letter_number_of_pdf`]); the text itself is in subset glyph codes.
    let number_ascii: String = signed
        .letter
        .letter_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    write_pdf(
        &metrics,
        layout,
        &signed.letter.letter_number,
        &title,
        &[(NUMBER_KEY, number_ascii.as_str())],
    )
}

impl Metrics<'static> {
    /// The metrics of the embedded font.
    pub(crate) fn embedded() -> Result<Self, RenderError> {
        let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| RenderError::Font {
            reason: e.to_string(),
        })?;
        Ok(Metrics {
            face,
            fallback: '?',
        })
    }
}

/// Writes laid-out pages as a PDF with the embedded font subset to the glyphs used: each page
/// gets a footer (`footer  —  page / pages`), the document information its title and the
/// given ASCII `info` pairs (keys are PDF names, values plain strings a reader can search).
pub(crate) fn write_pdf(
    metrics: &Metrics<'_>,
    mut layout: Layout<'_>,
    footer: &str,
    title: &str,
    info: &[(&[u8], &str)],
) -> Result<Vec<u8>, RenderError> {
    // Collect the glyphs used, in a stable order, so the same letter gives the same PDF bytes.
    let total = layout.pages.len();
    for (i, page) in layout.pages.iter_mut().enumerate() {
        let footer = format!("{footer}  —  {} / {}", i + 1, total);
        let w = metrics.width(&footer, 8.0);
        page.push(Mark::Text {
            x: PAGE_W - MARGIN_X - w,
            y: FOOTER_Y,
            size: 8.0,
            bold: false,
            text: footer,
        });
    }
    let mut chars = BTreeSet::new();
    for page in &layout.pages {
        for mark in page {
            if let Mark::Text { text, .. } = mark {
                chars.extend(text.chars().map(|c| metrics.glyph_char(c)));
            }
        }
    }
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut new_gid: BTreeMap<char, u16> = BTreeMap::new();
    let mut old_gid: BTreeMap<u16, u16> = BTreeMap::new();
    for &c in &chars {
        if let Some(g) = metrics.face.glyph_index(c) {
            let n = remapper.remap(g.0);
            new_gid.insert(c, n);
            old_gid.insert(n, g.0);
        }
    }
    let subset = subsetter::subset(FONT, 0, &remapper).map_err(|e| RenderError::Subset {
        reason: e.to_string(),
    })?;

    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog_id = alloc();
    let pages_id = alloc();
    let info_id = alloc();
    let type0_id = alloc();
    let cid_id = alloc();
    let descriptor_id = alloc();
    let file_id = alloc();
    let cmap_id = alloc();
    let page_ids: Vec<(Ref, Ref)> = layout.pages.iter().map(|_| (alloc(), alloc())).collect();

    pdf.catalog(catalog_id).pages(pages_id);
    pdf.pages(pages_id)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
    {
        let mut doc_info = pdf.document_info(info_id);
        doc_info.title(TextStr(title)).producer(TextStr("Haechi"));
        for (key, value) in info {
            doc_info.pair(Name(key), Str(value.as_bytes()));
        }
    }

    // A subset tag derived from the glyph set, so different subsets never share a name.
    let tag: String = Sha256::digest(new_gid.keys().collect::<String>().as_bytes())
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    let base_font = format!("{tag}+NanumGothic");
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0_id)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let face = &metrics.face;
    let scale = 1000.0 / f32::from(face.units_per_em());
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(Name(base_font.as_bytes()))
        .system_info(system_info)
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    {
        let mut widths = cid.widths();
        for (&n, &g) in &old_gid {
            let w = face
                .glyph_hor_advance(ttf_parser::GlyphId(g))
                .map_or(0.0, |a| f32::from(a) * scale);
            widths.consecutive(n, [w]);
        }
    }
    cid.finish();

    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor_id)
        .name(Name(base_font.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(face.ascender()) * scale)
        .descent(f32::from(face.descender()) * scale)
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
        .stem_v(80.0)
        .font_file2(file_id);

    let compressed_font = miniz_oxide::deflate::compress_to_vec_zlib(&subset, 9);
    pdf.stream(file_id, &compressed_font)
        .filter(Filter::FlateDecode)
        .pair(
            Name(b"Length1"),
            i32::try_from(subset.len()).unwrap_or(i32::MAX),
        );

    let mut cmap = UnicodeCmap::new(Name(b"Haechi-UTF16"), system_info);
    for (&c, &n) in &new_gid {
        cmap.pair(n, c);
    }
    let cmap = cmap.finish();
    pdf.cmap(cmap_id, &cmap)
        .name(Name(b"Haechi-UTF16"))
        .system_info(system_info);

    let encode = |text: &str| -> Vec<u8> {
        let mut bytes = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let n = new_gid
                .get(&metrics.glyph_char(c))
                .copied()
                .unwrap_or_default();
            bytes.extend_from_slice(&n.to_be_bytes());
        }
        bytes
    };

    for (marks, (page_id, content_id)) in layout.pages.iter().zip(&page_ids) {
        let mut content = Content::new();
        for mark in marks {
            match mark {
                Mark::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } => {
                    content.begin_text();
                    content.set_font(Name(FONT_NAME), *size);
                    if *bold {
                        // Faux bold by stroking the outline: one font file keeps the PDF small.
                        content.set_text_rendering_mode(TextRenderingMode::FillStroke);
                        content.set_line_width(size * 0.035);
                    } else {
                        content.set_text_rendering_mode(TextRenderingMode::Fill);
                    }
                    content.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
                    content.show(Str(&encode(text)));
                    content.end_text();
                }
                Mark::Rule { y, width } => {
                    content.set_line_width(*width);
                    content.move_to(MARGIN_X, *y);
                    content.line_to(PAGE_W - MARGIN_X, *y);
                    content.stroke();
                }
                Mark::Block { x, y, w, h } => {
                    content.rect(*x, *y, *w, *h);
                    content.fill_nonzero();
                }
            }
        }
        let data = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish().into_vec(), 6);
        pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
        let mut page = pdf.page(*page_id);
        page.parent(pages_id)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(*content_id);
        page.resources().fonts().pair(Name(FONT_NAME), type0_id);
        page.finish();
    }

    Ok(pdf.finish())
}
