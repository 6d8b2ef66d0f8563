//! Public pages (no login): the letter verification page and the published letter-signing keys.
//! The page is in the portal's frame and stylesheet, in the visitor's language (Korean by
//! default, English with `?lang=en`, the language cookie or the browser's preference). It
//! checks a signed letter file, a number typed in or carried by the address (`?number=`, what a
//! letter's PDF and QR code point to), or the number a letter's PDF carries.

use axum::extract::{Multipart, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use haechi_service::letters::LetterCheck;
use maud::{html, Markup};
use serde::Deserialize;

use crate::portal::{layout, Html200, Lang, Visitor};
use crate::AppState;

pub async fn public_keys(State(st): State<AppState>) -> Response {
    match st.svc.public_keys_pem().await {
        Ok(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot publish keys");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "keys unavailable",
            )
                .into_response()
        }
    }
}

/// The verification page in the portal's frame and stylesheet (the Content-Security-Policy
/// allows no inline style), for a visitor who is not signed in.
fn page(v: &Visitor, body: Markup) -> Response {
    let title = v
        .lang
        .t("비조치의견서 진위 확인", "Verify a no-action letter");
    let body = html! {
        h1 { (title) }
        (body)
    };
    Html200(layout(v.lang, None, title, &v.here, body)).into_response()
}

fn form(lang: Lang, number: &str) -> Markup {
    html! {
        p { (lang.t(
            "서명은 금융위원회가 공개한 키로 검증하며, 취소·만료 여부는 이 등록부에서 확인합니다.",
            "The signature is checked against the regulator's published keys; revocation and expiry are checked against this register.",
        )) " " a href="/.well-known/haechi-letter-keys.pem" { (lang.t("공개키 내려받기", "Download the keys")) } }
        form method="post" action="/verify" enctype="multipart/form-data" class="stack panel" {
            @if lang == Lang::En { input type="hidden" name="lang" value="en"; }
            div class="field" {
                label for="file" { (lang.t("의견서 파일 (.json)", "Letter file (.json)")) }
                input id="file" name="file" type="file" accept=".json,application/json,.pdf,application/pdf" aria-describedby="file-hint";
                p class="small muted" id="file-hint" { (lang.t(
                    "서명 원본은 발급 기관이 내려받는 \"서명된 파일(JSON)\"입니다. PDF를 올리면 PDF에 인쇄된 번호로 등록부를 조회하지만, PDF 자체에는 서명이 없으므로 내용의 진위는 JSON 파일로만 확인됩니다.",
                    "The signed original is the \"Signed file (JSON)\" the holder downloads. A PDF can be uploaded too: its printed number is looked up in the register, but a PDF carries no signature, so only the JSON file proves the content genuine.",
                )) }
            }
            div class="field" {
                label for="number" { (lang.t("또는 의견서 번호", "or letter number")) }
                input id="number" name="number" type="text" value=(number) placeholder="FSC-NAL-2026-0001" autocomplete="off";
            }
            div class="actions" { button type="submit" class="primary" { (lang.t("확인", "Verify")) } }
        }
    }
}

fn outcome_text(check: &LetterCheck, lang: Lang) -> &'static str {
    match check.outcome.as_str() {
        "valid" => lang.t("유효한 의견서입니다", "Valid letter"),
        "revoked" => lang.t("취소된 의견서입니다", "Revoked"),
        "expired" => lang.t("유효기간이 지난 의견서입니다", "Expired"),
        "not_yet_valid" => lang.t("아직 효력이 발생하지 않은 의견서입니다", "Not yet valid"),
        "altered" => lang.t(
            "변조된 의견서입니다 (서명 불일치)",
            "Altered: the signature does not match the content",
        ),
        "unknown_key" => lang.t(
            "알 수 없는 키로 서명된 의견서입니다",
            "Signed by an unknown key",
        ),
        "unknown_letter" => lang.t(
            "발급 기록이 없는 번호입니다",
            "No letter with this number was issued",
        ),
        _ => lang.t(
            "의견서 파일을 읽을 수 없습니다",
            "The file is not a readable letter",
        ),
    }
}

/// How the letter was checked: its signed file, its number typed in, or the number a PDF carries.
#[derive(Clone, Copy, PartialEq)]
enum Checked {
    File,
    Number,
    Pdf,
}

fn result_html(check: &LetterCheck, lang: Lang, how: Checked) -> Markup {
    let class = if check.is_valid() {
        "result alert ok"
    } else {
        "result alert error"
    };
    // The engines explain in English; the Korean page leads with its own sentence.
    let summary = match (
        check.outcome.as_str(),
        check.valid_from,
        check.valid_until,
        lang,
    ) {
        (_, _, _, Lang::En) => None,
        ("valid", _, Some(u), _) => Some(format!("{u}까지 유효합니다.")),
        ("expired", _, Some(u), _) => Some(format!("{u}에 유효기간이 끝났습니다.")),
        ("not_yet_valid", Some(f), _, _) => Some(format!("{f}부터 효력이 발생합니다.")),
        ("revoked", _, _, _) => Some(
            match check
                .reason
                .strip_prefix("revoked with effect from ")
                .and_then(|r| r.split_once(": "))
            {
                Some((on, why)) => {
                    format!("금융위원회가 {on}부로 취소한 의견서입니다. 취소 사유: {why}")
                }
                None => "금융위원회가 취소한 의견서입니다.".to_string(),
            },
        ),
        ("altered", _, _, _) => {
            Some("서명 이후 내용이 바뀌었습니다. 발급 기관에 원본을 확인하십시오.".to_string())
        }
        ("unknown_key", _, _, _) => {
            Some("공개된 금융위원회 서명 키로 서명되지 않았습니다.".to_string())
        }
        ("unknown_letter", _, _, _) => Some("이 번호로 발급된 의견서가 없습니다.".to_string()),
        _ => Some("의견서 형식이 아닙니다.".to_string()),
    };
    html! {
        section class=(class) role="status" data-outcome=(check.outcome) data-checked=(match how { Checked::File => "file", Checked::Number => "number", Checked::Pdf => "pdf" }) {
            h2 { (outcome_text(check, lang)) }
            @if how == Checked::Pdf {
                p { (lang.t(
                    "PDF에 인쇄된 번호로 등록부를 조회한 결과입니다. PDF에는 서명이 없어 내용까지 확인하지는 않았습니다. 내용의 진위는 \"서명된 파일(JSON)\"을 올려 확인하십시오.",
                    "This is the register's answer for the number printed in the PDF. A PDF carries no signature, so its content was not checked: upload the \"Signed file (JSON)\" to prove the content genuine.",
                )) }
            }
            dl class="facts" {
                @if let Some(n) = &check.letter_number {
                    dt { (lang.t("의견서 번호", "Letter number")) } dd { code { (n) } }
                }
                @if let (Some(ko), Some(en)) = (&check.holder_ko, &check.holder_en) {
                    dt { (lang.t("수령 기관", "Holder")) } dd { (lang.t(ko, en)) }
                }
                @if let (Some(f), Some(u)) = (check.valid_from, check.valid_until) {
                    dt { (lang.t("유효기간", "Valid")) } dd { (f) " – " (u) }
                }
                @if let Some(k) = &check.key_id {
                    dt { (lang.t("서명 키", "Signing key")) } dd { code { (k) } }
                }
                // The engines explain in English: the Korean page gives its own sentence instead.
                @match &summary {
                    Some(s) => { dt { "판정" } dd { (s) } },
                    None => { dt { "Detail" } dd { (check.reason) } },
                }
            }
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct VerifyQuery {
    number: Option<String>,
}

/// The form; with `?number=` (the address a letter's PDF and QR code carry) the register's
/// answer for that number above it.
pub async fn verify_form(
    State(st): State<AppState>,
    v: Visitor,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let number = q.number.as_deref().map(str::trim).unwrap_or("");
    let result = if number.is_empty() {
        html! {}
    } else {
        match st.svc.verify_letter_number(number).await {
            Ok(c) => result_html(&c, v.lang, Checked::Number),
            Err(e) => unavailable(v.lang, &e),
        }
    };
    page(
        &v,
        html! { (result) (form(v.lang, number)) (key_list(&st, v.lang).await) },
    )
}

fn unavailable(lang: Lang, e: &haechi_service::ServiceError) -> Markup {
    tracing::error!(error = %e, "verification failed");
    html! {
        p class="result alert error" role="alert" { (lang.t("지금은 확인할 수 없습니다.", "Verification is unavailable right now.")) }
    }
}

/// The ids of the published signing keys, so a reader can match the key named in a result.
async fn key_list(st: &AppState, lang: Lang) -> Markup {
    let ids: Vec<String> = match st.svc.key_ring().await {
        Ok(ring) => ring.keys().iter().map(|k| k.key_id().to_string()).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list signing keys");
            Vec::new()
        }
    };
    let title = lang.t("공개된 서명 키", "Published signing keys");
    html! {
        section aria-label=(title) {
            h2 { (title) }
            ul { @for id in &ids { li { code { (id) } } } }
        }
    }
}

pub async fn verify_submit(
    State(st): State<AppState>,
    v: Visitor,
    mut multipart: Multipart,
) -> Response {
    let mut v = v;
    let mut file: Option<Vec<u8>> = None;
    let mut number = String::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let Ok(bytes) = field.bytes().await else {
                    break;
                };
                match name.as_str() {
                    "file" if !bytes.is_empty() => file = Some(bytes.to_vec()),
                    "number" => number = String::from_utf8_lossy(&bytes).trim().to_string(),
                    "lang" if bytes.as_ref() == b"en" => v.lang = Lang::En,
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let lang = v.lang;
    let (check, how) = match (file, number.is_empty()) {
        (Some(bytes), _) if bytes.starts_with(b"%PDF-") => {
            match haechi_letter::letter_number_of_pdf(&bytes) {
                Some(n) => (st.svc.verify_letter_number(&n).await, Checked::Pdf),
                None => {
                    let msg = lang.t(
                        "이 PDF에서 의견서 번호를 찾을 수 없습니다. 발급 기관이 받은 \"서명된 파일(JSON)\"을 올리거나, 의견서 번호를 입력하십시오.",
                        "No letter number was found in this PDF. Upload the \"Signed file (JSON)\" the holder received, or type the letter number.",
                    );
                    return page(
                        &v,
                        html! {
                            p class="result alert error" role="alert" data-outcome="unreadable_pdf" { (msg) }
                            (form(lang, ""))
                        },
                    );
                }
            }
        }
        (Some(bytes), _) => (st.svc.verify_letter_file(&bytes).await, Checked::File),
        (None, false) => (st.svc.verify_letter_number(&number).await, Checked::Number),
        (None, true) => {
            let msg = lang.t(
                "의견서 파일을 선택하거나 번호를 입력하십시오.",
                "Choose a letter file or type a letter number.",
            );
            return page(
                &v,
                html! {
                    p class="result alert error" role="alert" { (msg) }
                    (form(lang, ""))
                },
            );
        }
    };
    let result = match check {
        Ok(c) => result_html(&c, lang, how),
        Err(e) => unavailable(lang, &e),
    };
    page(
        &v,
        html! { (result) (form(lang, &number)) (key_list(&st, lang).await) },
    )
}
