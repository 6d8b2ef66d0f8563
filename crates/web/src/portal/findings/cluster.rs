//! Cross-tool clusters on pages: the "reported by N tools / M AI models" badge of a queue item
//! and the section that lists a cluster's members with why each was grouped.

use haechi_store::ClusterMember;
use maud::{html, Markup};
use serde_json::Value;

use super::super::patching::{priority_tag, state_label};
use super::super::Lang;

/// The badge of a cluster's leader: how many findings, tools and AI models report the problem.
pub fn reported_by(lang: Lang, findings: i64, tools: i64, ai_models: i64) -> Markup {
    if findings < 2 {
        return html! {};
    }
    let text = match lang {
        Lang::Ko if ai_models > 0 => {
            format!("도구 {tools}개 · AI 모델 {ai_models}개가 보고 (취약점 {findings}건)")
        }
        Lang::Ko => format!("도구 {tools}개가 보고 (취약점 {findings}건)"),
        Lang::En => {
            let s = |n: i64| if n == 1 { "" } else { "s" };
            if ai_models > 0 {
                format!(
                    "reported by {tools} tool{} / {ai_models} AI model{} ({findings} findings)",
                    s(tools),
                    s(ai_models)
                )
            } else {
                format!("reported by {tools} tool{} ({findings} findings)", s(tools))
            }
        }
    };
    html! { span class="badge info" title=(lang.t("같은 위치·같은 약점을 보고한 결과를 하나로 묶었습니다", "Results about the same place and weakness are grouped as one problem")) { (text) } }
}

/// The members of a cluster with the reason each was grouped; nothing when there is no cluster.
pub fn section(lang: Lang, this: i64, members: &[ClusterMember]) -> Markup {
    if members.len() < 2 {
        return html! {};
    }
    let tools = {
        let mut t: Vec<&str> = members.iter().map(|m| m.tool_name.as_str()).collect();
        t.sort_unstable();
        t.dedup();
        t.len() as i64
    };
    let models = {
        let mut t: Vec<&str> = members
            .iter()
            .filter_map(|m| m.ai_model.as_deref())
            .collect();
        t.sort_unstable();
        t.dedup();
        t.len() as i64
    };
    html! {
        h2 id="cluster" { (lang.t("같은 문제를 보고한 결과 (교차 도구 묶음)", "Results reporting the same problem (cross-tool cluster)")) }
        p {
            (reported_by(lang, members.len() as i64, tools, models)) " "
            (lang.t(
                "대기열에는 가장 시급한 결과 하나만 표시되며, 이 중 하나를 패치로 조치하면 열린 결과 모두가 조치됨으로 바뀝니다.",
                "The queue shows only the most urgent of them; a patch record that fixes one of them fixes every open one.",
            ))
        }
        div class="table-wrap" { table {
            thead { tr {
                th scope="col" { (lang.t("취약점", "Finding")) }
                th scope="col" { (lang.t("우선순위", "Priority")) }
                th scope="col" { (lang.t("도구", "Tool")) }
                th scope="col" { (lang.t("AI 모델", "AI model")) }
                th scope="col" { (lang.t("규칙", "Rule")) }
                th scope="col" { (lang.t("위치", "Location")) }
                th scope="col" { (lang.t("상태", "Status")) }
                th scope="col" { (lang.t("묶은 이유", "Why grouped")) }
            } }
            tbody { @for m in members {
                tr class=[(m.finding_id == this).then_some("current")] {
                    td {
                        a href={ "/queue/" (m.finding_id) } { "#" (m.finding_id) }
                        @if m.finding_id == m.cluster_id { " " span class="badge" { (lang.t("대표", "leader")) } }
                    }
                    td { @match &m.priority { Some(pr) => (priority_tag(lang, pr)), None => "—" } }
                    td { (m.tool_name) }
                    td { (m.ai_model.as_deref().unwrap_or("—")) " " span class="muted small" { (state_label(lang, &m.ai_origin)) } }
                    td { (m.rule_id.as_deref().unwrap_or("—")) }
                    td class="nowrap" { code { (m.location.as_deref().unwrap_or("—")) } }
                    td { (state_label(lang, &m.status)) }
                    td { (reason(lang, m.reason.as_deref())) }
                }
            } }
        } }
    }
}

/// One membership's reason in words: the anchor, both lines, both CWEs and how they relate.
fn reason(lang: Lang, json: Option<&str>) -> Markup {
    let Some(v) = json.and_then(|j| serde_json::from_str::<Value>(j).ok()) else {
        return html! { (lang.t("기준 결과 (다른 결과를 이 결과와 비교함)", "Anchor (the others were compared with it)")) };
    };
    let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or_default();
    let relation = match (v.get("relation").and_then(Value::as_str), lang) {
        (Some("same"), Lang::Ko) => "같은 CWE",
        (Some("same"), Lang::En) => "the same CWE",
        (Some("narrower"), Lang::Ko) => "하위 CWE",
        (Some("narrower"), Lang::En) => "a narrower CWE",
        (Some("broader"), Lang::Ko) => "상위 CWE",
        (Some("broader"), Lang::En) => "a broader CWE",
        (_, l) => l.t("관련 CWE", "a related CWE"),
    };
    let text = match lang {
        Lang::Ko => format!(
            "#{}와 같은 파일, {}행과 {}행 (허용 {}행 이내), CWE-{}는 CWE-{}의 {} (정책 버전 {})",
            n("anchor_id"),
            n("anchor_line"),
            n("line"),
            n("line_tolerance"),
            n("cwe"),
            n("anchor_cwe"),
            relation,
            n("policy_version")
        ),
        Lang::En => format!(
            "same file as #{}, lines {} and {} (within {}), CWE-{} is {} of CWE-{} (policy version {})",
            n("anchor_id"),
            n("anchor_line"),
            n("line"),
            n("line_tolerance"),
            n("cwe"),
            relation,
            n("anchor_cwe"),
            n("policy_version")
        ),
    };
    html! { (text) }
}
