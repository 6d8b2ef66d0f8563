//! Field errors of the service in the page's language: one table from a field's code to its
//! label and one from the service's (English) messages to Korean, so that every form shows
//! "평가 점수: 점수를 매기지 않았습니다" instead of "scores.identify: is not scored" without any
//! per-page work. English pages keep the service's message and get a label instead of the path.
//!
//! What it must not do: decide anything. A message missing from the table is shown as the
//! service wrote it (and should be added here).

use haechi_core::FieldError;
use haechi_service::ServiceError;
use maud::{html, Markup};

use super::Lang;

/// Labels of field codes (the last segment of a path, without its index).
const LABELS: &[(&str, &str, &str)] = &[
    ("scores", "평가 점수", "Score"),
    ("justification", "평가 근거", "Justification"),
    ("rationale", "결정 사유", "Rationale"),
    ("override_reason", "예외 승인 사유", "Override reason"),
    ("finding_ids", "조치한 취약점", "Findings fixed"),
    ("applied", "적용 내용", "What was applied"),
    ("applied_at", "적용 일시", "Applied at"),
    ("applied_by", "적용자", "Applied by"),
    ("reason", "사유", "Reason"),
    ("note", "내용", "Note"),
    ("comment", "보완 요청 내용", "What must be corrected"),
    ("conflict", "이해충돌 신고", "Conflict declaration"),
    ("name", "이름", "Name"),
    ("name_ko", "한글 이름", "Korean name"),
    ("name_en", "영문 이름", "English name"),
    ("code", "코드", "Code"),
    ("title_ko", "한글 제목", "Korean title"),
    ("title_en", "영문 제목", "English title"),
    ("cves", "CVE", "CVEs"),
    ("cwes", "CWE", "CWEs"),
    ("body_ko", "본문(한국어)", "Body (Korean)"),
    ("severity", "심각도", "Severity"),
    ("tlp", "TLP 등급", "TLP marking"),
    ("audience", "수신 대상", "Audience"),
    ("audience_sector", "업권", "Sector"),
    ("audience_institutions", "지정 기관", "Named institutions"),
    ("indicators", "침해지표", "Indicators"),
    ("actions", "대응 권고", "Recommended actions"),
    ("change_note", "정정 내용", "What the correction changes"),
    ("username", "아이디", "Username"),
    ("password", "비밀번호", "Password"),
    ("new_password", "새 비밀번호", "New password"),
    ("current_password", "현재 비밀번호", "Current password"),
    ("label", "이름", "Label"),
    ("contact_email", "연락 이메일", "Contact e-mail"),
    ("business_function", "업무 기능", "Business function"),
    ("kind", "종류", "Kind"),
    ("network_zone", "네트워크 구역", "Network zone"),
    ("data_kinds", "데이터 종류", "Data kinds"),
    ("data_classes", "데이터 등급", "Data classes"),
    ("advisor_id", "평가위원", "Advisor"),
    ("assignee_user_id", "담당자", "Assignee"),
    ("resource_id", "전산자원", "Resource"),
    ("until", "위험 수용 종료일", "Accepted until"),
    ("status", "상태", "Status"),
    ("result", "결과", "Result"),
    ("evaluated_on", "평가일", "Evaluated on"),
    (
        "reported_to_ciso_at",
        "CISO 보고 일시",
        "Reported to the CISO at",
    ),
    ("scope", "신청 범위", "Scope"),
    ("services", "서비스", "Service"),
    ("vendor", "공급사", "Vendor"),
    ("internal_controls", "내부통제 방안", "Internal controls"),
    ("self_assessment", "자체평가", "Self-assessment"),
    ("file", "파일", "File"),
    ("filename", "파일 이름", "File name"),
    ("total_assets_krw", "총자산", "Total assets"),
    ("full_time_employees", "상시 종업원", "Full-time employees"),
    ("sector", "업권", "Sector"),
    ("size_class", "규모", "Size class"),
    ("ciso_name", "CISO 이름", "CISO name"),
    ("dedicated_ciso", "전담 CISO", "Dedicated CISO"),
    ("institution_id", "기관", "Institution"),
    ("role", "역할", "Role"),
    ("to", "기간", "Range"),
    ("from", "기간", "Range"),
    ("map", "경로 매핑", "Path mapping"),
    ("resource_map", "경로 매핑", "Path mapping"),
    ("prefix", "경로 접두어", "Path prefix"),
    ("header", "머리글", "Header"),
    ("bom", "부품 목록(SBOM)", "Bill of materials"),
    (
        "processes_electronic_transactions",
        "전자금융거래 처리",
        "Electronic transactions",
    ),
    ("dr_tier", "재해복구 등급", "DR tier"),
    ("owner", "관리 부서", "Owner"),
    ("users", "이용자", "Users"),
    ("purpose", "이용 목적", "Purpose"),
    ("product", "제품", "Product"),
    ("certifications", "인증", "Certifications"),
    ("notes", "비고", "Notes"),
    ("published_on", "게시일", "Published on"),
    ("assets_as_of", "총자산 기준일", "Assets as of"),
    ("employees_as_of", "종업원 수 기준일", "Employees as of"),
];

fn label_of(code: &str) -> Option<(&'static str, &'static str)> {
    LABELS
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, ko, en)| (*ko, *en))
}

/// A field's label for people: `services[2].name` → "서비스 3 · 이름"; `scores.identify` →
/// "평가 점수"; an unknown code → "입력 항목" (never the raw path).
pub fn field_label(lang: Lang, field: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let segments: Vec<&str> = field.split('.').collect();
    for (k, seg) in segments.iter().enumerate() {
        // Only the first segment and the last one name fields; the middle ones are ids (a
        // criterion, a service row) that the label need not repeat.
        if k != 0 && k + 1 != segments.len() {
            continue;
        }
        let (base, index) = match seg.split_once('[') {
            Some((b, rest)) => (
                b,
                rest.trim_end_matches(']')
                    .parse::<usize>()
                    .ok()
                    .map(|i| i + 1),
            ),
            None => (*seg, None),
        };
        if let Some((ko, en)) = label_of(base) {
            let mut s = lang.t(ko, en).to_string();
            if let Some(i) = index {
                s.push_str(&format!(" {i}"));
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    if out.is_empty() {
        return match field {
            "*" => lang.t("파일", "File").to_string(),
            _ => lang.t("입력 항목", "Field").to_string(),
        };
    }
    out.join(" · ")
}

/// Exact messages of the service with their Korean text.
const MESSAGES: &[(&str, &str)] = &[
    ("is not scored", "점수를 매기지 않았습니다."),
    ("is scored twice", "두 번 채점했습니다."),
    ("is not a criterion of the policy", "정책에 없는 평가 항목입니다."),
    ("write a justification (at least 10 characters)", "평가 근거를 10자 이상 쓰십시오."),
    ("a decision needs its rationale", "결정 사유를 쓰십시오."),
    ("the evaluation did not pass the policy's marks: approving it needs an explicit override reason", "평가가 정책의 기준에 미달했습니다. 승인하려면 예외 승인 사유를 쓰십시오."),
    ("link at least one finding the patch fixes", "이 패치로 조치한 취약점을 하나 이상 고르십시오."),
    ("list at least one finding", "취약점을 하나 이상 고르십시오."),
    ("a finding is listed twice", "같은 취약점이 두 번 들어 있습니다."),
    ("is in the future", "미래의 시점일 수 없습니다."),
    ("say what was applied", "적용한 내용을 쓰십시오."),
    ("say who applied it", "적용한 사람(부서)을 쓰십시오."),
    ("must not be empty", "비워 둘 수 없습니다."),
    ("must not be negative", "음수일 수 없습니다."),
    ("is not an e-mail address", "이메일 주소 형식이 아닙니다."),
    ("list at least one CVE", "CVE를 하나 이상 쓰십시오."),
    ("name at least one institution", "기관을 하나 이상 지정하십시오."),
    ("list at least one indicator", "침해지표를 하나 이상 쓰십시오."),
    ("list at least one recommended action", "대응 권고를 하나 이상 쓰십시오."),
    ("say what this correction changes", "정정으로 무엇이 바뀌는지 쓰십시오."),
    ("say why the bulletin is withdrawn", "공지를 철회하는 사유를 쓰십시오."),
    ("TLP:RED needs named institutions or the regulator as its audience", "TLP:RED는 지정 기관이나 감독당국만 수신 대상으로 할 수 있습니다."),
    ("a second person must review and publish: you submitted this bulletin", "검토를 요청한 본인은 게시할 수 없습니다. 다른 담당자가 검토하고 게시해야 합니다."),
    ("only a bulletin in review can be published", "검토 대기 중인 공지만 게시할 수 있습니다."),
    ("only a published bulletin can be withdrawn", "게시된 공지만 철회할 수 있습니다."),
    ("only a draft can be changed: begin a correction of a published bulletin first", "작성 중인 공지만 고칠 수 있습니다. 게시된 공지는 먼저 정정을 시작하십시오."),
    ("a withdrawn bulletin needs no acknowledgement", "철회된 공지는 확인할 필요가 없습니다."),
    ("the bulletin is not draft", "작성 중인 공지가 아닙니다."),
    ("the bulletin is not in_review", "검토 대기 중인 공지가 아닙니다."),
    ("the bulletin is not published", "게시된 공지가 아닙니다."),
    ("is not an active advisor", "활동 중인 평가위원이 아닙니다."),
    (
        "the advisor's term in the advisory group does not cover today",
        "오늘은 이 위원의 자문단 임기가 아닙니다.",
    ),
    (
        "the advisor has a standing conflict of interest with this institution",
        "이 위원은 이 기관과 상시 이해충돌을 신고했습니다.",
    ),
    (
        "the advisor has a standing conflict of interest with this institution's sector",
        "이 위원은 이 기관의 업권과 상시 이해충돌을 신고했습니다.",
    ),
    ("is not assigned to this application", "이 신청에 배정된 평가위원이 아닙니다."),
    ("describe the conflict", "이해충돌의 내용을 쓰십시오."),
    ("say why it is returned", "반송 사유를 쓰십시오."),
    ("say what must be corrected", "보완할 내용을 쓰십시오."),
    ("say why the advisor is removed", "평가위원을 제외하는 사유를 쓰십시오."),
    ("say why the advisory is withdrawn", "권고를 철회하는 사유를 쓰십시오."),
    ("say why the application joins the confirmed cohort", "확정된 허용 대상에 추가하는 사유를 쓰십시오."),
    ("say why the letter is revoked", "의견서를 취소하는 사유를 쓰십시오."),
    ("is before the evaluation", "평가일보다 앞설 수 없습니다."),
    ("choose AI vulnerability assessment, security SaaS or both", "AI 취약점 점검, 보안 SaaS 또는 둘 다를 고르십시오."),
    ("list at least one AI service or SaaS product", "AI 서비스나 SaaS 제품을 하나 이상 쓰십시오."),
    ("describe the internal-control measures (at least 20 characters)", "내부통제 방안을 20자 이상 쓰십시오."),
    ("the last day of the risk acceptance is required", "위험 수용의 마지막 날을 정하십시오."),
    ("3 or more letters, digits, '.', '_' or '-'", "영문자, 숫자, '.', '_', '-'로 3자 이상이어야 합니다."),
    ("does not match your current password", "현재 비밀번호와 맞지 않습니다."),
    ("must differ from the username", "아이디와 달라야 합니다."),
    ("at most 256 characters", "256자 이하여야 합니다."),
    ("1 to 100 characters", "1~100자여야 합니다."),
    ("must be 1-200 characters", "1~200자여야 합니다."),
    ("must be 1-32 letters, digits, '-' or '_'", "영문자, 숫자, '-', '_'로 1~32자여야 합니다."),
    ("required when dedicated_ciso is true", "전담 CISO가 있으면 이름을 쓰십시오."),
    ("required for institution roles (ciso, security_staff) and only for them", "기관 역할(CISO, 보안 담당자)에만, 반드시 정합니다."),
    ("no such institution", "없는 기관입니다."),
    ("missing self-assessment level", "자체평가 수준을 고르십시오."),
    ("maturity level must be 1-4", "성숙도 수준은 1~4입니다."),
    ("must be ai_service or saas", "AI 서비스 또는 SaaS여야 합니다."),
    ("no feed file given", "피드 파일을 고르십시오."),
    ("is empty", "비어 있습니다."),
    ("column is missing from the header", "머리글에 이 열이 없습니다."),
];

/// The Korean text of a service message, when the table knows it (exactly or by its pattern).
fn message_ko(msg: &str) -> Option<String> {
    if let Some((_, ko)) = MESSAGES.iter().find(|(en, _)| *en == msg) {
        return Some((*ko).to_string());
    }
    if let Some(rest) = msg.strip_prefix("at least ") {
        // "at least {min} characters (this one has {n})"
        if let Some((min, tail)) = rest.split_once(" characters (this one has ") {
            let n = tail.trim_end_matches(')');
            return Some(format!("{min}자 이상이어야 합니다(지금 {n}자)."));
        }
    }
    if let Some(top) = msg.strip_prefix("score must be 1-") {
        return Some(format!("점수는 1~{top} 사이여야 합니다."));
    }
    if msg.starts_with("a reason is required for ") {
        return Some("사유를 쓰십시오.".into());
    }
    if msg.starts_with("the range must run forward") {
        return Some("기간의 끝이 시작보다 앞서거나 너무 깁니다.".into());
    }
    if msg.contains(" import takes exactly one file") {
        return Some("파일을 하나만 올리십시오.".into());
    }
    if let Some(rest) = msg.strip_prefix("unreadable row: ") {
        return Some(format!("읽을 수 없는 행입니다: {rest}"));
    }
    if let Some(d) = msg.strip_prefix("unknown data class ") {
        let d = d.split(' ').next().unwrap_or("");
        return Some(format!(
            "알 수 없는 데이터 등급 {d}입니다(C, S, O 중 하나)."
        ));
    }
    if msg.starts_with("user ") && msg.contains(" is not a user of institution ") {
        return Some("이 기관의 사용자가 아닙니다.".into());
    }
    if msg.contains("is not a resource of institution") {
        return Some("이 기관의 전산자원이 아닙니다.".into());
    }
    if msg.ends_with("is not a CVE id (CVE-YYYY-NNNN)") {
        let v = msg
            .trim_end_matches("is not a CVE id (CVE-YYYY-NNNN)")
            .trim();
        return Some(format!("{v}은(는) CVE 번호(CVE-YYYY-NNNN)가 아닙니다."));
    }
    if msg.ends_with("is not a CWE id (CWE-NNN)") {
        let v = msg.trim_end_matches("is not a CWE id (CWE-NNN)").trim();
        return Some(format!("{v}은(는) CWE 번호(CWE-NNN)가 아닙니다."));
    }
    if let Some((v, why)) = msg.split_once("' is not ") {
        let ko = match why {
            "an IPv4 address" => Some("IPv4 주소가 아닙니다"),
            "an IPv6 address" => Some("IPv6 주소가 아닙니다"),
            "a domain name" => Some("도메인 이름이 아닙니다"),
            "an http(s) URL" => Some("http(s) URL이 아닙니다"),
            "an e-mail address" => Some("이메일 주소가 아닙니다"),
            "a SHA-256 hash (64 hex digits)" => Some("SHA-256 해시(16진수 64자)가 아닙니다"),
            "an MD5 hash (32 hex digits)" => Some("MD5 해시(16진수 32자)가 아닙니다"),
            _ => None,
        };
        if let Some(ko) = ko {
            return Some(format!("{v}'은(는) {ko}."));
        }
    }
    if let Some(v) = msg.strip_suffix(" is listed twice") {
        return Some(format!("{v}이(가) 두 번 들어 있습니다."));
    }
    if let Some(v) = msg.strip_suffix(" is in the past") {
        return Some(format!("{v}은(는) 지난 날짜입니다."));
    }
    if let Some(v) = msg.strip_suffix(" appears more than once in the file") {
        return Some(format!("{v}이(가) 파일에 두 번 이상 나옵니다."));
    }
    if let Some(v) = msg.strip_suffix(" is not a date (YYYY-MM-DD)") {
        return Some(format!("{v}은(는) 날짜(YYYY-MM-DD)가 아닙니다."));
    }
    if let Some(v) = msg.strip_suffix(" is not a whole number") {
        return Some(format!("{v}은(는) 정수가 아닙니다."));
    }
    if let Some(v) = msg.strip_suffix(" is not true/false") {
        return Some(format!("{v}은(는) true 또는 false가 아닙니다."));
    }
    if let Some(v) = msg.strip_suffix(" is not PREFIX=RESOURCE") {
        return Some(format!("{v}은(는) '접두어=전산자원' 형식이 아닙니다."));
    }
    if let Some((v, allowed)) = msg.split_once(" is not one of ") {
        return Some(format!("{v}은(는) 허용된 값이 아닙니다(허용: {allowed})."));
    }
    if let Some((v, allowed)) = msg.split_once(" is not ") {
        if v.starts_with('\'') {
            return Some(format!("{v}은(는) 허용된 값이 아닙니다(허용: {allowed})."));
        }
    }
    None
}

/// A service message in the page's language (Korean from the table; English as written).
pub fn message(lang: Lang, msg: &str) -> String {
    match lang {
        Lang::En => msg.to_string(),
        Lang::Ko => message_ko(msg).unwrap_or_else(|| msg.to_string()),
    }
}

/// The message of one field error for display next to its field, in the page's language.
pub fn localized(lang: Lang, e: &FieldError) -> String {
    message(lang, &e.message)
}

/// The alerts above a form: what failed, then each field's error, worded by the page's own
/// `label` and `message` tables (the pages of the program's bodies share this shape).
pub fn form_alerts(
    lang: Lang,
    failed: Option<&str>,
    errors: &[FieldError],
    label: fn(Lang, &str) -> String,
    message: fn(Lang, &FieldError) -> String,
) -> Markup {
    html! {
        @if let Some(m) = failed { p class="alert error" role="alert" { (m) } }
        @if !errors.is_empty() {
            ul class="alert error" role="alert" { @for e in errors { li { (label(lang, &e.field)) ": " (message(lang, e)) } } }
        }
    }
}

/// The headline of a failed form: the rule's own words (the page's `rule_message`) when no
/// field is at fault, otherwise a request to check the fields marked below.
pub fn form_failure(
    lang: Lang,
    e: &ServiceError,
    rule_message: fn(Lang, &ServiceError) -> String,
) -> String {
    if e.field_errors().is_empty() {
        rule_message(lang, e)
    } else {
        lang.t(
            "입력을 확인하십시오. 아무것도 저장하지 않았습니다.",
            "Please check the form. Nothing was saved.",
        )
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_show_paths() {
        assert_eq!(field_label(Lang::Ko, "scores.identify"), "평가 점수");
        assert_eq!(
            field_label(Lang::Ko, "scores.identify.justification"),
            "평가 점수 · 평가 근거"
        );
        assert_eq!(
            field_label(Lang::En, "services[2].name"),
            "Service 3 · Name"
        );
        assert_eq!(field_label(Lang::Ko, "finding_ids"), "조치한 취약점");
        assert_eq!(field_label(Lang::Ko, "zzz.qqq"), "입력 항목");
    }

    #[test]
    fn messages_are_translated() {
        assert_eq!(
            message(Lang::Ko, "is not scored"),
            "점수를 매기지 않았습니다."
        );
        assert_eq!(
            message(Lang::Ko, "at least 20 characters (this one has 3)"),
            "20자 이상이어야 합니다(지금 3자)."
        );
        assert_eq!(
            message(Lang::Ko, "score must be 1-5"),
            "점수는 1~5 사이여야 합니다."
        );
        assert_eq!(message(Lang::En, "is not scored"), "is not scored");
        assert!(message(Lang::Ko, "'x' is not one of a, b").starts_with("'x'은(는)"));
    }
}
