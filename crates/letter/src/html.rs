//! The letter as a print-ready bilingual HTML page (A4).
//!
//! A self-contained document: inline CSS, no scripts, no external fetches (Haechi runs offline).
//! Every piece of letter text is HTML-escaped here; callers must not pre-escape. This module does
//! not decide validity: it prints what the letter says, and marks an unsigned draft as such.

use std::fmt::Write as _;

use crate::letter::{ConditionKind, LocalizedText, NoActionLetter};
use crate::signing::Signature;

/// Which language leads the page. Both are always shown; Korean is the authoritative text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Korean first (the default, and the official reading).
    #[default]
    Ko,
    /// English first.
    En,
}

impl Lang {
    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
@page { size: A4; margin: 20mm 18mm; }
* { box-sizing: border-box; }
body { font-family: "NanumGothic", "Nanum Gothic", "Noto Sans KR", "Malgun Gothic", sans-serif;
  color: #111; margin: 0 auto; max-width: 180mm; font-size: 10.5pt; line-height: 1.5; }
header { border-bottom: 2px solid #111; margin-bottom: 6mm; padding-bottom: 3mm; }
h1 { font-size: 22pt; margin: 0; letter-spacing: 0.2em; text-align: center; }
h1 .sub { display: block; font-size: 12pt; letter-spacing: normal; font-weight: normal; }
h2 { font-size: 12pt; border-bottom: 1px solid #999; margin: 6mm 0 2mm; padding-bottom: 1mm; }
.second { color: #444; font-size: 9.5pt; }
dl.meta { display: grid; grid-template-columns: 38mm 1fr; gap: 1mm 4mm; margin: 0; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { border: 1px solid #777; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
ol li { margin-bottom: 2mm; }
.draft { border: 2px dashed #b00; color: #b00; padding: 2mm; text-align: center; font-weight: bold; }
footer { margin-top: 8mm; border-top: 1px solid #111; padding-top: 2mm; font-size: 9pt; }
code { font-family: "NanumGothicCoding", monospace; word-break: break-all; }
tr, li, dl { page-break-inside: avoid; break-inside: avoid; }
.verify { display: flex; gap: 4mm; align-items: center; margin-top: 3mm; }
.verify svg { flex: none; width: 28mm; height: 28mm; }
@media print { .no-print { display: none; } }
"#;

struct Page<'a> {
    lang: Lang,
    out: &'a mut String,
}

impl Page<'_> {
    /// Leading language text, then the other one, marked with its own `lang`.
    fn both(&mut self, t: &LocalizedText) {
        let (first, first_lang, second, second_lang) = match self.lang {
            Lang::Ko => (&t.ko, "ko", &t.en, "en"),
            Lang::En => (&t.en, "en", &t.ko, "ko"),
        };
        let _ = write!(
            self.out,
            "<span lang=\"{first_lang}\">{}</span><br><span class=\"second\" lang=\"{second_lang}\">{}</span>",
            escape(first),
            escape(second)
        );
    }

    fn label(&mut self, ko: &str, en: &str) {
        self.both(&LocalizedText::new(ko, en));
    }
}

fn condition_label(kind: ConditionKind) -> LocalizedText {
    match kind {
        ConditionKind::InternalControl => LocalizedText::new("내부통제", "Internal control"),
        ConditionKind::CertifiedServicesOnly => {
            LocalizedText::new("인증 서비스 한정", "Certified services only")
        }
        ConditionKind::ReportingDuty => LocalizedText::new("보고 의무", "Reporting duty"),
        ConditionKind::SupplementarySecurity => {
            LocalizedText::new("보완 보안대책", "Supplementary security")
        }
        ConditionKind::Other => LocalizedText::new("기타", "Other"),
    }
}

/// The page's stylesheet, for a caller that serves it as a file (a Content-Security-Policy
/// without `'unsafe-inline'` blocks the inline copy).
pub fn print_css() -> &'static str {
    CSS
}

/// How [`render_html_with`] renders the page.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlOptions<'a> {
    /// Link this stylesheet (serving [`print_css`]) instead of inlining it.
    pub stylesheet: Option<&'a str>,
    /// The public verification URL of the letter, printed with its QR code.
    pub verify_url: Option<&'a str>,
}

/// Render the letter as a complete HTML document.
///
/// `signature` is the letter's signature block; `None` renders a draft marked "not signed".
pub fn render_html(letter: &NoActionLetter, signature: Option<&Signature>, lang: Lang) -> String {
    render_html_with(letter, signature, lang, &HtmlOptions::default())
}

/// [`render_html`] with a linked stylesheet and the verification URL and QR code, if given.
pub fn render_html_with(
    letter: &NoActionLetter,
    signature: Option<&Signature>,
    lang: Lang,
    options: &HtmlOptions<'_>,
) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let style = match options.stylesheet {
        Some(href) => format!("<link rel=\"stylesheet\" href=\"{}\">", escape(href)),
        None => format!("<style>{CSS}</style>"),
    };
    let title = match lang {
        Lang::Ko => "비조치의견서 No-Action Letter",
        Lang::En => "No-Action Letter 비조치의견서",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} {}</title>\n{style}\n</head>\n<body>\n",
        lang.tag(),
        escape(title),
        escape(&letter.letter_number)
    );
    let mut p = Page {
        lang,
        out: &mut out,
    };
    if signature.is_none() {
        p.out.push_str("<p class=\"draft\">");
        p.label(
            "초안 — 서명되지 않음, 효력 없음",
            "DRAFT — not signed, of no effect",
        );
        p.out.push_str("</p>\n");
    }
    p.out.push_str("<header>\n<h1>");
    match lang {
        Lang::Ko => {
            p.out.push_str("<span lang=\"ko\">비조치의견서</span><span class=\"sub\" lang=\"en\">No-Action Letter</span>")
        }
        Lang::En => {
            p.out.push_str("<span lang=\"en\">No-Action Letter</span><span class=\"sub\" lang=\"ko\">비조치의견서</span>")
        }
    }
    p.out.push_str("</h1>\n</header>\n<dl class=\"meta\">\n");

    let rows: Vec<(LocalizedText, LocalizedText)> = vec![
        (
            LocalizedText::new("문서번호", "Letter number"),
            LocalizedText::new(letter.letter_number.clone(), letter.letter_number.clone()),
        ),
        (
            LocalizedText::new("발급기관", "Issuer"),
            letter.issuer.name.clone(),
        ),
        (
            LocalizedText::new("수신기관", "Holder"),
            letter.holder.name.clone(),
        ),
        (
            LocalizedText::new("기관 ID", "Institution id"),
            LocalizedText::new(
                letter.holder.institution_id.clone(),
                letter.holder.institution_id.clone(),
            ),
        ),
        (
            LocalizedText::new("발급일", "Issued on"),
            LocalizedText::new(letter.issued_on.to_string(), letter.issued_on.to_string()),
        ),
        (
            LocalizedText::new("유효기간", "Validity"),
            LocalizedText::new(
                format!("{} ~ {}", letter.valid_from, letter.valid_until),
                format!(
                    "{} to {} (inclusive)",
                    letter.valid_from, letter.valid_until
                ),
            ),
        ),
        (
            LocalizedText::new("정책 버전", "Policy version"),
            LocalizedText::new(
                letter.policy_version.to_string(),
                letter.policy_version.to_string(),
            ),
        ),
    ];
    for (label, value) in rows {
        p.out.push_str("<dt>");
        p.both(&label);
        p.out.push_str("</dt><dd>");
        if value.ko == value.en {
            let _ = write!(p.out, "{}", escape(&value.ko));
        } else {
            p.both(&value);
        }
        p.out.push_str("</dd>\n");
    }
    if let Some(prev) = &letter.renews {
        p.out.push_str("<dt>");
        p.label("갱신 대상", "Renews");
        let _ = writeln!(p.out, "</dt><dd>{}</dd>", escape(prev));
    }
    p.out.push_str("</dl>\n");

    p.out.push_str("<h2>");
    p.label("근거", "Legal basis");
    p.out.push_str("</h2>\n<p>");
    p.both(&letter.legal_basis);
    p.out.push_str("</p>\n");

    p.out.push_str("<h2>");
    p.label("허용 범위", "Permitted scope");
    p.out.push_str("</h2>\n<table>\n<thead><tr>");
    for (ko, en) in [
        ("구분", "Kind"),
        ("서비스", "Service"),
        ("공급자", "Vendor"),
        ("인증", "Certifications"),
        ("데이터 등급", "Data classes"),
    ] {
        p.out.push_str("<th>");
        p.label(ko, en);
        p.out.push_str("</th>");
    }
    p.out.push_str("</tr></thead>\n<tbody>\n");
    for s in &letter.scope.services {
        p.out.push_str("<tr><td>");
        p.both(&s.kind.label());
        let _ = writeln!(
            p.out,
            "</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            escape(&s.vendor),
            escape(&s.certifications.join(", ")),
            escape(&s.data_classes.join(", "))
        );
    }
    p.out.push_str("</tbody>\n</table>\n");

    p.out.push_str("<h2>");
    p.label("조건", "Conditions");
    p.out.push_str("</h2>\n<ol>\n");
    for c in &letter.conditions {
        p.out.push_str("<li><strong>");
        p.both(&condition_label(c.kind));
        p.out.push_str("</strong><br>");
        p.both(&c.text);
        p.out.push_str("</li>\n");
    }
    p.out.push_str("</ol>\n");

    p.out.push_str("<h2>");
    p.label("보고 일정", "Reporting schedule");
    p.out.push_str("</h2>\n<table>\n<thead><tr>");
    for (ko, en) in [
        ("구분", "Kind"),
        ("대상 기간", "Period"),
        ("제출 기한", "Due"),
    ] {
        p.out.push_str("<th>");
        p.label(ko, en);
        p.out.push_str("</th>");
    }
    p.out.push_str("</tr></thead>\n<tbody>\n");
    for r in &letter.reporting {
        p.out.push_str("<tr><td>");
        p.both(&r.kind.label());
        let _ = writeln!(
            p.out,
            "</td><td>{} ~ {}</td><td>{}</td></tr>",
            r.period_start, r.period_end, r.due_on
        );
    }
    p.out.push_str("</tbody>\n</table>\n");

    p.out.push_str("<footer>\n");
    match signature {
        Some(sig) => {
            p.label(
                "이 문서는 금융위원회의 Ed25519 전자서명으로 보호됩니다. 원본 파일은 haechi letter verify 또는 공개 검증 페이지에서 확인할 수 있습니다.",
                "This letter is protected by the regulator's Ed25519 signature. Verify the original file with `haechi letter verify` or on the public verification page.",
            );
            let _ = writeln!(
                p.out,
                "<dl class=\"meta\"><dt>Algorithm</dt><dd>{}</dd><dt>Key id</dt><dd><code>{}</code></dd><dt>Signature fingerprint</dt><dd><code>{}</code></dd></dl>",
                escape(&sig.alg),
                escape(&sig.key_id),
                escape(&sig.fingerprint())
            );
            if let Some(url) = options.verify_url {
                p.out.push_str("<div class=\"verify\">");
                if let Some(qr) = crate::qr::QrModules::encode(url) {
                    p.out.push_str(&qr.to_svg("QR"));
                }
                p.out.push_str("<p>");
                p.label(
                    "진위 확인: 아래 주소에 접속하거나 QR 코드를 읽으십시오. 취소 여부까지 확인됩니다.",
                    "Verify: open this address or scan the QR code; it also tells whether the letter was revoked.",
                );
                let _ = write!(p.out, "<br><code>{}</code></p></div>", escape(url));
            }
        }
        None => p.label("서명 없음", "Not signed"),
    }
    p.out.push_str("</footer>\n</body>\n</html>\n");
    out
}
