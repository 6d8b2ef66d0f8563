//! The audit log (regulator admin and auditor): every recorded state change, newest first, with
//! filters (actor, action, entity, entity id, institution), the before/after of each entry, and
//! the result of verifying the hash chain. Read-only; the service decides who may read it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use haechi_service::Action;
use haechi_store::{AuditEntry, AuditFilter, AuditVerification, InstitutionFilter};
use maud::{html, Markup};
use serde::Deserialize;

use super::registry::{moment, thousands};
use super::{control, pager, role_name, url_encode, Lang, PageRoute, Portal, PER_PAGE};
use crate::{page_get, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![page_get!("/audit", log)]
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    lang: String,
}

/// Audit action codes with their labels: the log shows "로그인", not `session.login`.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("session.login", "로그인", "Signed in"),
    (
        "audit.checkpoint",
        "감사 기록 검증 지점",
        "Audit log checkpoint",
    ),
    ("session.login_failed", "로그인 실패", "Sign-in failed"),
    ("session.logout", "로그아웃", "Signed out"),
    ("token.issue", "API 토큰 발급", "API token issued"),
    ("token.revoke", "API 토큰 폐기", "API token revoked"),
    ("user.create", "사용자 등록", "User created"),
    ("user.update", "사용자 정보 변경", "User changed"),
    ("user.disable", "사용자 비활성화", "User disabled"),
    ("user.enable", "사용자 활성화", "User enabled"),
    ("user.password_set", "비밀번호 설정", "Password set"),
    ("user.password_change", "비밀번호 변경", "Password changed"),
    ("user.password_reset", "비밀번호 초기화", "Password reset"),
    ("policy.load", "정책 적용", "Policy loaded"),
    ("institution.create", "기관 등록", "Institution registered"),
    (
        "institution.update",
        "기관 정보 변경",
        "Institution changed",
    ),
    (
        "institution.import",
        "기관 일괄 등록",
        "Institutions imported",
    ),
    ("eligibility.screen", "적격성 심사", "Eligibility screened"),
    (
        "application.create",
        "신청서 작성 시작",
        "Application started",
    ),
    ("application.update", "신청서 수정", "Application edited"),
    ("application.attach", "첨부 파일 등록", "File attached"),
    ("review.assign", "평가위원 배정", "Advisor assigned"),
    ("review.remove", "평가위원 제외", "Advisor removed"),
    ("review.declare", "이해충돌 신고", "Conflict declared"),
    ("review.save", "평가 임시 저장", "Scores saved"),
    ("review.submit", "평가 제출", "Scores submitted"),
    ("cohort.confirm", "허용 대상 확정", "Cohort confirmed"),
    ("cohort.add_member", "허용 대상 추가", "Cohort member added"),
    ("letter.draft", "의견서 초안 작성", "Letter drafted"),
    ("letter.issue", "의견서 발급", "Letter issued"),
    ("letter.revoke", "의견서 취소", "Letter revoked"),
    ("letter.renew", "의견서 갱신", "Letter renewed"),
    (
        "letter.hand_over",
        "전면 해제 트랙 이관",
        "Handed over to full removal",
    ),
    (
        "letter.reminders",
        "만료 알림 발송",
        "Expiry reminders sent",
    ),
    ("letter.key_added", "서명 키 등록", "Signing key added"),
    (
        "letter.bad_signature",
        "서명 불일치 의견서 확인",
        "Letter with a bad signature checked",
    ),
    (
        "letter.unknown_key",
        "알 수 없는 키의 의견서 확인",
        "Letter of an unknown key checked",
    ),
    ("resource.create", "전산자원 등록", "Resource registered"),
    ("resource.update", "전산자원 변경", "Resource changed"),
    (
        "resource.import",
        "전산자원 일괄 등록",
        "Resources imported",
    ),
    (
        "resource.reclassify",
        "전산자원 재분류",
        "Resources reclassified",
    ),
    (
        "resource.components",
        "구성요소(SBOM) 등록",
        "Components imported",
    ),
    (
        "findings.upload",
        "취약점 파일 업로드",
        "Findings file uploaded",
    ),
    ("findings.import", "취약점 가져오기", "Findings imported"),
    (
        "findings.import_failed",
        "취약점 가져오기 실패",
        "Findings import failed",
    ),
    (
        "findings.import_abandoned",
        "중단된 취약점 가져오기 실패 처리",
        "Abandoned findings import marked failed",
    ),
    ("findings.assign", "취약점 담당자 지정", "Findings assigned"),
    (
        "finding.transition",
        "취약점 상태 변경",
        "Finding status changed",
    ),
    (
        "finding.acceptance_expired",
        "위험 수용 만료",
        "Risk acceptance expired",
    ),
    (
        "priorities.recompute",
        "패치 우선순위 재계산",
        "Priorities recomputed",
    ),
    ("patch.record", "패치 기록", "Patch recorded"),
    ("feeds.import", "위협 피드 가져오기", "Threat feed imported"),
    (
        "advisory.publish",
        "긴급 패치 권고 게시",
        "Advisory published",
    ),
    (
        "advisory.withdraw",
        "긴급 패치 권고 철회",
        "Advisory withdrawn",
    ),
    ("saas.create", "보안 SaaS 등록", "Security SaaS registered"),
    ("saas.update", "보안 SaaS 변경", "Security SaaS changed"),
    ("saas.delete", "보안 SaaS 삭제", "Security SaaS removed"),
    (
        "saas.evaluate",
        "보안 SaaS 자체 점검",
        "Security SaaS self-evaluation",
    ),
    (
        "user.role_change",
        "역할·기관 변경",
        "Role or institution changed",
    ),
    ("report.compile", "보고서 작성(집계)", "Report compiled"),
    (
        "report.write",
        "보고서 서술 작성",
        "Report narrative written",
    ),
    ("report.submit", "보고서 제출", "Report submitted"),
    (
        "report.attach",
        "보고서 증빙 파일 추가",
        "Report evidence file attached",
    ),
    (
        "report.detach",
        "보고서 증빙 파일 삭제",
        "Report evidence file removed",
    ),
    (
        "report.reminders",
        "보고 기한 알림 발송",
        "Report due-date reminders sent",
    ),
    ("immunity.file", "면책 심사 신청", "Immunity claim filed"),
    (
        "immunity.appeal",
        "면책 재심 청구",
        "Immunity decision appealed",
    ),
    ("immunity.granted", "면책 인정", "Immunity granted"),
    ("immunity.refused", "면책 불인정", "Immunity refused"),
    (
        "incident.breach",
        "데이터 범위 위반 사고 기록",
        "Data-class breach recorded",
    ),
    (
        "incident.report_initial",
        "최초 사고 보고",
        "Initial incident report filed",
    ),
    (
        "incident.report_interim",
        "중간 사고 보고",
        "Interim incident report filed",
    ),
    (
        "incident.report_final",
        "최종 사고 보고",
        "Final incident report filed",
    ),
    ("funding.call", "지원 공모 개시", "Funding call opened"),
    ("funding.apply", "지원 신청", "Funding applied for"),
    ("funding.awarded", "지원 선정", "Funding awarded"),
    ("funding.rejected", "지원 미선정", "Funding refused"),
    ("funding.cancel", "지원 취소", "Funding award cancelled"),
    ("funding.disburse", "지원금 지급", "Funding disbursed"),
    (
        "funding.outcome",
        "성과 보고 제출",
        "Funding outcome report filed",
    ),
    (
        "funding.outcome_attach",
        "성과 보고 파일 첨부",
        "File attached to an outcome report",
    ),
    (
        "funding.outcome_accepted",
        "성과 보고 승인",
        "Funding outcome report accepted",
    ),
    (
        "funding.outcome_more_requested",
        "성과 보고 보완 요청",
        "More asked of an outcome report",
    ),
    (
        "immunity.attach",
        "장애 보고서 증빙 첨부",
        "Evidence attached to a disruption report",
    ),
    ("support.open", "지원센터 상담 신청", "Support case opened"),
    (
        "support.triage",
        "지원센터 상담 접수",
        "Support case taken up",
    ),
    ("support.answer", "지원센터 답변", "Support case answered"),
    (
        "support.follow_up",
        "지원센터 추가 문의",
        "Support case followed up",
    ),
    ("support.close", "지원센터 상담 종결", "Support case closed"),
    (
        "support.comment",
        "지원센터 상담 메시지",
        "Message on a support case",
    ),
    (
        "response.member_add",
        "대응반 구성원 추가",
        "Response team member added",
    ),
    (
        "response.member_retire",
        "대응반 구성원 해촉",
        "Response team member retired",
    ),
    (
        "challenge.raise",
        "현장 애로사항 접수",
        "Field challenge raised",
    ),
    (
        "challenge.update",
        "현장 애로사항 변경",
        "Field challenge changed",
    ),
    (
        "challenge.in_progress",
        "현장 애로사항 처리 시작",
        "Field challenge taken up",
    ),
    (
        "challenge.resolved",
        "현장 애로사항 해결",
        "Field challenge resolved",
    ),
    (
        "challenge.closed",
        "현장 애로사항 종결",
        "Field challenge closed",
    ),
    (
        "checkin.record",
        "대응반 점검 회의 기록",
        "Check-in recorded",
    ),
    (
        "checkin.action_add",
        "점검 회의 조치 추가",
        "Check-in action added",
    ),
    (
        "checkin.action_done",
        "점검 회의 조치 완료",
        "Check-in action done",
    ),
    (
        "removal.shortlist",
        "완전 해제 후보 선정",
        "Shortlisted for full removal",
    ),
    (
        "removal.recommend",
        "완전 해제 권고",
        "Full removal recommended",
    ),
    ("removal.not_now", "완전 해제 보류", "Full removal: not now"),
    (
        "advisory.appoint",
        "자문단 위원 위촉",
        "Advisory member appointed",
    ),
    (
        "advisory.extend",
        "자문단 임기 연장",
        "Advisory term extended",
    ),
    (
        "advisory.correct",
        "자문단 임기 정정",
        "Advisory term corrected",
    ),
    (
        "advisory.conflict",
        "상시 이해충돌 신고",
        "Standing conflict declared",
    ),
    (
        "advisory.meeting",
        "자문단 회의 소집",
        "Advisory meeting scheduled",
    ),
    (
        "advisory.minutes",
        "자문단 회의록 기록",
        "Advisory minutes recorded",
    ),
    ("advisory.advice", "자문 기록", "Advice recorded"),
    ("guideline.create", "가이드라인 작성", "Guideline started"),
    (
        "guideline.draft",
        "가이드라인 초안 저장",
        "Guideline draft saved",
    ),
    (
        "guideline.publish",
        "가이드라인 게시",
        "Guideline published",
    ),
    (
        "guideline.acknowledge",
        "가이드라인 확인",
        "Guideline acknowledged",
    ),
    (
        "briefing.schedule",
        "현장 설명회 일정 등록",
        "Briefing scheduled",
    ),
    (
        "briefing.attendance",
        "설명회 참석 기록",
        "Briefing attendance recorded",
    ),
    (
        "guidance.request",
        "맞춤형 지원 요청",
        "Tailored support requested",
    ),
    (
        "guidance.scheduled",
        "맞춤형 지원 일정 확정",
        "Tailored support scheduled",
    ),
    ("guidance.done", "맞춤형 지원 완료", "Tailored support done"),
    ("bulletin.create", "공지 초안 작성", "Bulletin drafted"),
    ("bulletin.update", "공지 수정", "Bulletin edited"),
    (
        "bulletin.submit",
        "공지 검토 요청",
        "Bulletin sent for review",
    ),
    ("bulletin.return", "공지 반려", "Bulletin returned"),
    ("bulletin.publish", "공지 게시", "Bulletin published"),
    ("bulletin.correct", "공지 정정", "Bulletin corrected"),
    ("bulletin.withdraw", "공지 철회", "Bulletin withdrawn"),
    ("bulletin.acknowledge", "공지 확인", "Bulletin acknowledged"),
    ("taxii.add", "TAXII 객체 등록", "TAXII objects added"),
    ("immunity.file", "면책 신청", "Immunity claim filed"),
    ("immunity.appeal", "면책 재심 청구", "Immunity appeal filed"),
    (
        "incident.breach",
        "데이터 등급 위반 사고",
        "Data-class breach incident",
    ),
];

/// Entity kinds of the log with their labels.
const ENTITIES: &[(&str, &str, &str)] = &[
    ("institution", "기관", "Institution"),
    ("application", "신청", "Application"),
    ("letter", "의견서", "Letter"),
    ("obligation", "보고 의무", "Obligation"),
    ("cohort", "허용 대상", "Cohort"),
    ("user", "사용자", "User"),
    ("session", "세션", "Session"),
    ("token", "API 토큰", "API token"),
    ("policy", "정책", "Policy"),
    ("eligibility", "적격성 심사", "Eligibility"),
    ("resource", "전산자원", "Resource"),
    ("finding", "취약점", "Finding"),
    ("finding_import", "취약점 가져오기", "Findings import"),
    ("patch_record", "패치 기록", "Patch record"),
    ("feed", "위협 피드", "Threat feed"),
    ("feed_import", "위협 피드", "Threat feed"),
    ("advisory", "긴급 패치 권고", "Advisory"),
    ("saas", "보안 SaaS", "Security SaaS"),
    ("review", "평가", "Review"),
    ("signing_key", "서명 키", "Signing key"),
    ("report", "보고서", "Report"),
    ("bulletin", "공지", "Bulletin"),
    ("immunity", "면책", "Immunity"),
    ("incident", "사고", "Incident"),
    ("disruption_report", "전산장애 보고", "Disruption report"),
    ("funding_call", "지원 공모", "Funding call"),
    ("funding_application", "지원 신청", "Funding application"),
    ("advisory_member", "자문단 위원", "Advisory member"),
    ("advisory_meeting", "자문단 회의", "Advisory meeting"),
    ("advisory_advice", "자문", "Advice"),
    ("guideline", "가이드라인", "Guideline"),
    ("briefing", "현장 설명회", "Briefing"),
    (
        "support_request",
        "맞춤형 지원 요청",
        "Tailored support request",
    ),
    ("support_case", "지원센터 상담", "Support case"),
    ("response_member", "대응반 구성원", "Response team member"),
    ("field_challenge", "현장 애로사항", "Field challenge"),
    (
        "response_checkin",
        "대응반 점검 회의",
        "Response team check-in",
    ),
    ("checkin_action", "점검 회의 조치", "Check-in action"),
    (
        "removal_candidate",
        "완전 해제 후보",
        "Full-removal candidate",
    ),
    ("saas_evaluation", "SaaS 자체 평가", "SaaS self-evaluation"),
    ("audit_log", "감사 기록", "Audit log"),
];

/// The label of an audit action code; a code the table does not know is shown as it is.
pub fn action_label(lang: Lang, code: &str) -> String {
    if let Some((_, ko, en)) = ACTIONS.iter().find(|(c, ..)| *c == code) {
        return lang.t(ko, en).to_string();
    }
    if let Some(step) = code.strip_prefix("application.") {
        return format!(
            "{} — {}",
            lang.t("신청", "Application"),
            super::applications::action_label(lang, step)
        );
    }
    if let Some(to) = code.strip_prefix("report.") {
        return format!(
            "{} — {}",
            lang.t("보고서", "Report"),
            super::letters::obligation_state_label(lang, to)
        );
    }
    if let Some(to) = code.strip_prefix("obligation.") {
        return format!(
            "{} — {}",
            lang.t("보고 의무", "Obligation"),
            super::letters::obligation_state_label(lang, to)
        );
    }
    code.to_string()
}

/// The label of an entity kind; an unknown kind as it is.
pub fn entity_label(lang: Lang, entity: &str) -> String {
    ENTITIES
        .iter()
        .find(|(c, ..)| *c == entity)
        .map(|(_, ko, en)| lang.t(ko, en).to_string())
        .unwrap_or_else(|| entity.to_string())
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Where an entry's entity can be looked at, when the portal has a page for it.
fn entity_link(entity: &str, id: &str) -> Option<String> {
    if id.parse::<i64>().is_err() {
        return None;
    }
    match entity {
        "institution" => Some(format!("/institutions/{id}")),
        "letter" => Some(format!("/letters/{id}")),
        "application" => Some(format!("/applications/{id}")),
        _ => None,
    }
}

fn verification(lang: Lang, v: &AuditVerification) -> Markup {
    html! {
        @if v.intact {
            div class="alert ok" role="status" {
                p { strong { (lang.t("해시 체인 검증: 이상 없음", "Hash chain verified: intact")) } }
                p { (lang.t("기록 ", "Entries checked: ")) (thousands(v.entries)) (lang.t("건의 연결과 내용이 모두 일치합니다.", "; every link and every entry's content matches.")) }
                @if v.verified_from > 0 {
                    p class="small muted" {
                        (lang.t("#", "Entries up to #")) (v.verified_from)
                        (lang.t("까지는 검증 지점을 기록할 때 검증했고, 이번에는 그 뒤의 기록만 확인했습니다. 전체 재검증: haechi audit verify --full", " were verified when the checkpoint was written; this check walked the entries after it. Full re-check: haechi audit verify --full"))
                    }
                }
            }
        } @else {
            div class="alert error" role="alert" {
                p { strong { (lang.t("해시 체인 검증: 변조 또는 삭제 감지", "Hash chain verification FAILED: alteration or removal detected")) } }
                @if let Some((seq, why)) = &v.first_bad {
                    p { (lang.t("첫 번째 문제 기록: #", "First failing entry: #")) (seq) " — " (why) }
                }
            }
        }
    }
}

fn change_details(lang: Lang, e: &AuditEntry) -> Markup {
    html! {
        @if e.before_json.is_some() || e.after_json.is_some() {
            details {
                summary { (lang.t("변경 내용", "Before / after")) }
                @if let Some(b) = &e.before_json {
                    p class="small muted" { (lang.t("이전", "Before")) }
                    pre class="audit-json" { (b) }
                }
                @if let Some(a) = &e.after_json {
                    p class="small muted" { (lang.t("이후", "After")) }
                    pre class="audit-json" { (a) }
                }
            }
        } @else {
            span class="muted" { "—" }
        }
    }
}

async fn log(State(st): State<AppState>, p: Portal, Query(q): Query<AuditQuery>) -> Response {
    let lang = p.lang;
    let page = q
        .page
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let institution = q.institution.trim().parse::<i64>().ok();
    let filter = AuditFilter {
        entity: some(&q.entity),
        entity_id: some(&q.entity_id),
        actor_name: some(&q.actor),
        action: some(&q.action),
        institution_id: institution,
        limit: i64::from(PER_PAGE) + 1,
        offset: i64::from(page - 1) * i64::from(PER_PAGE),
    };
    let (mut entries, total) = match st.svc.audit_log(&p.actor, &filter).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let has_next = entries.len() > PER_PAGE as usize;
    entries.truncate(PER_PAGE as usize);
    let check = match st.svc.verify_audit(&p.actor).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    // Names for the institution filter and column; a role that may read the log but not the
    // registry would see ids only.
    let names: Vec<(i64, String)> = match st
        .svc
        .list_institutions(
            &p.actor,
            &InstitutionFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
    {
        Ok((list, _)) => {
            let mut v: Vec<(i64, String)> = list
                .into_iter()
                .map(|i| (i.id, lang.t(&i.input.name_ko, &i.input.name_en).to_string()))
                .collect();
            v.sort_by(|a, b| a.1.cmp(&b.1));
            v
        }
        Err(_) => Vec::new(),
    };
    let name_of: HashMap<i64, &str> = names.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let mut params = Vec::new();
    for (k, v) in [
        ("actor", q.actor.trim()),
        ("action", q.action.trim()),
        ("entity", q.entity.trim()),
        ("entity_id", q.entity_id.trim()),
        ("lang", q.lang.as_str()),
    ] {
        if !v.is_empty() {
            params.push(format!("{k}={}", url_encode(v)));
        }
    }
    if let Some(i) = institution {
        params.push(format!("institution={i}"));
    }
    let base = if params.is_empty() {
        "/audit".to_string()
    } else {
        format!("/audit?{}", params.join("&"))
    };
    let title = p.t("감사 로그", "Audit log");
    let body = html! {
        h1 { (title) }
        (verification(lang, &check))
        form method="get" action="/audit" class="filters" role="search" aria-label=(p.t("감사 로그 검색", "Filter the audit log")) {
            @if !q.lang.is_empty() { input type="hidden" name="lang" value=(q.lang); }
            (control(p.t("사용자(아이디)", "Actor (username)"), "actor", &[], html! {
                input type="text" id="actor" name="actor" value=(q.actor) autocomplete="off";
            }))
            (control(p.t("동작", "Action"), "action", &[], html! {
                select id="action" name="action" {
                    option value="" selected[q.action.trim().is_empty()] { (p.t("전체", "All")) }
                    @for (code, ko, en) in ACTIONS {
                        option value=(code) selected[q.action.trim() == *code] { (p.t(ko, en)) }
                    }
                    @if !q.action.trim().is_empty() && !ACTIONS.iter().any(|(c, ..)| *c == q.action.trim()) {
                        option value=(q.action.trim()) selected { (action_label(lang, q.action.trim())) }
                    }
                }
            }))
            (control(p.t("대상 종류", "Entity"), "entity", &[], html! {
                select id="entity" name="entity" {
                    option value="" selected[q.entity.trim().is_empty()] { (p.t("전체", "All")) }
                    @for (code, ko, en) in ENTITIES {
                        option value=(code) selected[q.entity.trim() == *code] { (p.t(ko, en)) }
                    }
                    @if !q.entity.trim().is_empty() && !ENTITIES.iter().any(|(c, ..)| *c == q.entity.trim()) {
                        option value=(q.entity.trim()) selected { (q.entity.trim()) }
                    }
                }
            }))
            (control(p.t("대상 ID", "Entity id"), "entity_id", &[], html! {
                input type="text" id="entity_id" name="entity_id" value=(q.entity_id) autocomplete="off";
            }))
            (control(p.t("기관", "Institution"), "institution", &[], html! {
                select id="institution" name="institution" {
                    option value="" selected[institution.is_none()] { (p.t("전체", "All")) }
                    @for (id, name) in &names {
                        option value=(id) selected[institution == Some(*id)] { (name) }
                    }
                    @if let Some(i) = institution.filter(|i| !name_of.contains_key(i)) {
                        option value=(i) selected { "#" (i) }
                    }
                }
            }))
            button type="submit" class="primary" { (p.t("검색", "Search")) }
            a href="/audit" { (p.t("조건 지우기", "Clear filters")) }
        }
        p class="muted" { (p.t("해당 기록 ", "Matching entries: ")) strong { (thousands(total)) } (p.t("건 (최신순)", " (newest first)")) }
        @if entries.is_empty() {
            p class="alert warn" { (p.t("조건에 맞는 기록이 없습니다.", "No entry matches these filters.")) }
        } @else {
            div class="table-wrap" {
                table class="audit" {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" class="num" { "#" }
                        th scope="col" { (p.t("일시", "At")) }
                        th scope="col" { (p.t("사용자", "Actor")) }
                        th scope="col" { (p.t("동작", "Action")) }
                        th scope="col" { (p.t("대상", "Entity")) }
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" { (p.t("내용", "Details")) }
                    } }
                    tbody {
                        @for e in &entries {
                            tr {
                                td class="num" { (e.seq) }
                                td { (moment(&e.at)) }
                                td {
                                    a href={ "/audit?actor=" (url_encode(&e.actor_name)) } { (e.actor_name) }
                                    br;
                                    span class="small muted" {
                                        @match haechi_core::Role::parse(&e.actor_role) {
                                            Some(r) => { (role_name(lang, r)) },
                                            None => { (e.actor_role) },
                                        }
                                    }
                                }
                                td { a href={ "/audit?action=" (url_encode(&e.action)) } title=(e.action) { (action_label(lang, &e.action)) } }
                                td {
                                    (entity_label(lang, &e.entity)) " "
                                    @match entity_link(&e.entity, &e.entity_id) {
                                        Some(href) => { a href=(href) { (e.entity_id) } },
                                        None => { code { (e.entity_id) } },
                                    }
                                }
                                td {
                                    @if let Some(i) = e.institution_id {
                                        a href={ "/audit?institution=" (i) } { (name_of.get(&i).copied().map(str::to_string).unwrap_or_else(|| format!("#{i}"))) }
                                    } @else { span class="muted" { "—" } }
                                }
                                td { (change_details(lang, e)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(lang, &base, page, has_next))
        @if !p.may(Action::ReadRegistry) {
            p class="small muted" { (p.t("기관명은 등록부 열람 권한이 있을 때만 표시됩니다.", "Institution names are shown only to roles that may read the registry.")) }
        }
    };
    p.page(title, body)
}
