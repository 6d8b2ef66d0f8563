//! Public pages (no login): the letter verification page and the published letter-signing keys.
//! Korean by default, English with `?lang=en`. The full web portal is a later piece of work.

use axum::extract::{Multipart, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use haechi_letter::html::escape;
use haechi_service::letters::LetterCheck;
use serde::Deserialize;

use crate::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

fn is_en(q: &LangQuery) -> bool {
    q.lang.as_deref() == Some("en")
}

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

fn page(en: bool, body: &str) -> Html<String> {
    let (lang, title, other) = if en {
        (
            "en",
            "Verify a no-action letter",
            "<a href=\"/verify\">한국어</a>",
        )
    } else {
        (
            "ko",
            "비조치의견서 진위 확인",
            "<a href=\"/verify?lang=en\">English</a>",
        )
    };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} — Haechi</title>\
<style>body{{font-family:'Noto Sans KR','Malgun Gothic',sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.6}}\
h1{{font-size:1.5rem}}fieldset{{border:1px solid #ccc;padding:1rem;margin:1rem 0}}label{{display:block;margin:.5rem 0 .25rem;font-weight:600}}\
input[type=text]{{width:100%;padding:.4rem;box-sizing:border-box}}button{{margin-top:.75rem;padding:.5rem 1.25rem}}\
.result{{padding:1rem;border-left:6px solid;margin:1rem 0}}.ok{{border-color:#1b7f3b;background:#eef8f1}}.bad{{border-color:#b3261e;background:#fdeeed}}\
nav{{text-align:right}}dl{{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}}</style></head>\
<body><nav>{other}</nav><h1>{title}</h1>{body}</body></html>"
    ))
}

fn form(en: bool) -> String {
    let q = if en { "?lang=en" } else { "" };
    let (file, number, submit, hint) = if en {
        ("Letter file (.json)", "or letter number", "Verify", "The signature is checked against the regulator's published keys (<a href=\"/.well-known/haechi-letter-keys.pem\">keys</a>); revocation and expiry are checked against this register.")
    } else {
        ("의견서 파일 (.json)", "또는 의견서 번호", "확인", "서명은 금융위원회가 공개한 키(<a href=\"/.well-known/haechi-letter-keys.pem\">공개키</a>)로 검증하며, 철회·만료 여부는 이 등록부에서 확인합니다.")
    };
    format!(
        "<p>{hint}</p><form method=\"post\" action=\"/verify{q}\" enctype=\"multipart/form-data\"><fieldset>\
<label for=\"file\">{file}</label><input id=\"file\" name=\"file\" type=\"file\" accept=\".json,application/json\">\
<label for=\"number\">{number}</label><input id=\"number\" name=\"number\" type=\"text\" placeholder=\"FSC-NAL-2026-0001\">\
<button type=\"submit\">{submit}</button></fieldset></form>"
    )
}

fn outcome_text(check: &LetterCheck, en: bool) -> &'static str {
    match (check.outcome.as_str(), en) {
        ("valid", false) => "유효한 의견서입니다",
        ("valid", true) => "Valid letter",
        ("revoked", false) => "철회된 의견서입니다",
        ("revoked", true) => "Revoked",
        ("expired", false) => "유효기간이 지난 의견서입니다",
        ("expired", true) => "Expired",
        ("not_yet_valid", false) => "아직 효력이 발생하지 않은 의견서입니다",
        ("not_yet_valid", true) => "Not yet valid",
        ("altered", false) => "변조된 의견서입니다 (서명 불일치)",
        ("altered", true) => "Altered: the signature does not match the content",
        ("unknown_key", false) => "알 수 없는 키로 서명된 의견서입니다",
        ("unknown_key", true) => "Signed by an unknown key",
        ("unknown_letter", false) => "발급 기록이 없는 번호입니다",
        ("unknown_letter", true) => "No letter with this number was issued",
        (_, false) => "의견서 파일을 읽을 수 없습니다",
        (_, true) => "The file is not a readable letter",
    }
}

fn result_html(check: &LetterCheck, en: bool) -> String {
    let class = if check.is_valid() { "ok" } else { "bad" };
    let mut dl = String::new();
    let labels = if en {
        ["Letter number", "Holder", "Valid", "Signing key", "Detail"]
    } else {
        [
            "의견서 번호",
            "수령 기관",
            "유효기간",
            "서명 키",
            "기술 정보 (영문)",
        ]
    };
    if let Some(n) = &check.letter_number {
        dl.push_str(&format!("<dt>{}</dt><dd>{}</dd>", labels[0], escape(n)));
    }
    if let (Some(ko), Some(en_name)) = (&check.holder_ko, &check.holder_en) {
        dl.push_str(&format!(
            "<dt>{}</dt><dd>{} / {}</dd>",
            labels[1],
            escape(ko),
            escape(en_name)
        ));
    }
    if let (Some(f), Some(u)) = (check.valid_from, check.valid_until) {
        dl.push_str(&format!("<dt>{}</dt><dd>{f} – {u}</dd>", labels[2]));
    }
    if let Some(k) = &check.key_id {
        dl.push_str(&format!(
            "<dt>{}</dt><dd><code>{}</code></dd>",
            labels[3],
            escape(k)
        ));
    }
    if !en {
        // The engines explain in English; the Korean page leads with its own sentence.
        let summary = match (check.outcome.as_str(), check.valid_from, check.valid_until) {
            ("valid", _, Some(u)) => format!("{u}까지 유효합니다."),
            ("expired", _, Some(u)) => format!("{u}에 유효기간이 끝났습니다."),
            ("not_yet_valid", Some(f), _) => format!("{f}부터 효력이 발생합니다."),
            ("revoked", _, _) => {
                "금융위원회가 철회한 의견서입니다. 철회 사유는 아래 기술 정보에 있습니다."
                    .to_string()
            }
            ("altered", _, _) => {
                "서명 이후 내용이 바뀌었습니다. 발급 기관에 원본을 확인하십시오.".to_string()
            }
            ("unknown_key", _, _) => "공개된 금융위원회 서명 키로 서명되지 않았습니다.".to_string(),
            ("unknown_letter", _, _) => "이 번호로 발급된 의견서가 없습니다.".to_string(),
            _ => "의견서 형식이 아닙니다.".to_string(),
        };
        dl.push_str(&format!("<dt>판정</dt><dd>{}</dd>", escape(&summary)));
    }
    dl.push_str(&format!(
        "<dt>{}</dt><dd>{}</dd>",
        labels[4],
        escape(&check.reason)
    ));
    format!(
        "<section class=\"result {class}\" role=\"status\" data-outcome=\"{}\"><h2>{}</h2><dl>{dl}</dl></section>",
        escape(&check.outcome),
        outcome_text(check, en)
    )
}

pub async fn verify_form(State(st): State<AppState>, Query(q): Query<LangQuery>) -> Html<String> {
    let en = is_en(&q);
    page(en, &format!("{}{}", form(en), key_list(&st, en).await))
}

/// The ids of the published signing keys, so a reader can match the key named in a result.
async fn key_list(st: &AppState, en: bool) -> String {
    let ids: Vec<String> = match st.svc.key_ring().await {
        Ok(ring) => ring
            .keys()
            .iter()
            .map(|k| format!("<li><code>{}</code></li>", escape(k.key_id())))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list signing keys");
            Vec::new()
        }
    };
    let title = if en {
        "Published signing keys"
    } else {
        "공개된 서명 키"
    };
    format!(
        "<section aria-label=\"{title}\"><h2>{title}</h2><ul>{}</ul></section>",
        ids.join("")
    )
}

pub async fn verify_submit(
    State(st): State<AppState>,
    Query(q): Query<LangQuery>,
    mut multipart: Multipart,
) -> Html<String> {
    let en = is_en(&q);
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
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let check = match (file, number.is_empty()) {
        (Some(bytes), _) => st.svc.verify_letter_file(&bytes).await,
        (None, false) => st.svc.verify_letter_number(&number).await,
        (None, true) => {
            let msg = if en {
                "Choose a letter file or type a letter number."
            } else {
                "의견서 파일을 선택하거나 번호를 입력하십시오."
            };
            return page(
                en,
                &format!(
                    "<p class=\"result bad\" role=\"alert\">{msg}</p>{}",
                    form(en)
                ),
            );
        }
    };
    let body = match check {
        Ok(c) => result_html(&c, en),
        Err(e) => {
            tracing::error!(error = %e, "verification failed");
            format!(
                "<p class=\"result bad\" role=\"alert\">{}</p>",
                if en {
                    "Verification is unavailable right now."
                } else {
                    "지금은 확인할 수 없습니다."
                }
            )
        }
    };
    page(
        en,
        &format!("{body}{}{}", form(en), key_list(&st, en).await),
    )
}
