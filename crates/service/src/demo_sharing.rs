//! Demo threat-sharing bulletins (issue #16): a dozen, of every kind and every TLP 2.0 marking
//! and audience, written by the research institute or the support center and published by the
//! other after review; one corrected (version 2), one withdrawn, one still in review; two
//! emergency patch advisories, one acknowledged by one demo institution and overdue for the
//! rest. Fictional content only.

use chrono::{Duration, NaiveDateTime};
use haechi_core::{Actor, Role};

use crate::sharing::BulletinInput;
use crate::{Result, Service};

struct Demo {
    kind: &'static str,
    tlp: &'static str,
    audience: &'static str,
    sector: &'static str,
    severity: &'static str,
    title_ko: &'static str,
    title_en: &'static str,
    body_ko: &'static str,
    body_en: &'static str,
    cves: &'static [&'static str],
    cwes: &'static [&'static str],
    indicators: &'static [&'static str],
    actions: &'static [&'static str],
    /// Days before today it was published.
    days_ago: i64,
}

const BULLETINS: &[Demo] = &[
    Demo { kind: "ai_attack_trend", tlp: "clear", audience: "all", sector: "", severity: "medium",
        title_ko: "2026년 3분기 금융권 AI 공격 동향", title_en: "AI attacks on the financial sector, Q3 2026",
        body_ko: "생성형 AI 상담 챗봇을 겨냥한 프롬프트 주입 시도가 전 분기보다 크게 늘었습니다. 공격자는 고객 상담 이력을 빼내거나 내부 규정 문서를 노출시키려 했습니다.",
        body_en: "Prompt-injection attempts against generative-AI customer chatbots rose sharply over the previous quarter, aiming at conversation histories and internal policy documents.",
        cves: &[], cwes: &["CWE-1427"], indicators: &[], actions: &["챗봇 출력에 내부 문서 인용 여부를 점검하는 필터를 두십시오."], days_ago: 40 },
    Demo { kind: "ai_attack_trend", tlp: "green", audience: "sector", sector: "bank", severity: "medium",
        title_ko: "은행권 음성 딥페이크 본인확인 우회 시도", title_en: "Voice deepfakes against bank identity checks",
        body_ko: "콜센터 음성 본인확인을 딥페이크 음성으로 우회하려는 시도가 여러 은행에서 관찰되었습니다.",
        body_en: "Attempts to pass call-centre voice verification with deepfaked voices were observed at several banks.",
        cves: &[], cwes: &[], indicators: &[], actions: &["고위험 거래는 음성 외 추가 인증을 요구하십시오."], days_ago: 33 },
    Demo { kind: "vulnerability", tlp: "amber", audience: "all", sector: "", severity: "high",
        title_ko: "모델 서빙 게이트웨이 역직렬화 취약점", title_en: "Deserialisation flaw in model-serving gateways",
        body_ko: "오픈소스 모델 서빙 게이트웨이의 로깅 구성요소에서 원격 코드 실행이 가능한 취약점이 확인되었습니다.",
        body_en: "A remote-code-execution flaw was confirmed in the logging component of an open-source model-serving gateway.",
        cves: &["CVE-2021-44228"], cwes: &["CWE-502"], indicators: &[], actions: &["log4j 2.17.1 이상으로 올리십시오.", "게이트웨이를 인터넷에서 직접 접근할 수 없게 하십시오."], days_ago: 28 },
    Demo { kind: "indicators", tlp: "amber+strict", audience: "sector", sector: "securities", severity: "high",
        title_ko: "증권사 대상 AI 에이전트 악용 C2 지표", title_en: "C2 indicators of AI-agent abuse against securities firms",
        body_ko: "트레이딩 보조 AI 에이전트의 플러그인을 통해 외부 명령제어 서버와 통신한 정황이 확인되었습니다.",
        body_en: "Trading-assistant AI agents were seen talking to external command-and-control servers through a plugin.",
        cves: &[], cwes: &["CWE-829"], indicators: &["ipv4 203.0.113.45 C2 서버", "domain plugin-update.example 악성 플러그인 배포지", "sha256 9f2c1e7a3b5d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60 악성 플러그인"],
        actions: &["목록의 도메인과 IP를 차단하십시오."], days_ago: 21 },
    Demo { kind: "indicators", tlp: "red", audience: "named", sector: "", severity: "critical",
        title_ko: "특정 기관 대상 표적형 피싱 지표", title_en: "Targeted phishing indicators for named institutions",
        body_ko: "지정 기관의 CISO에게만 전달하는 표적형 피싱 발신 정보입니다.",
        body_en: "Sender details of a targeted phishing campaign, for the named institutions' CISOs only.",
        cves: &[], cwes: &[], indicators: &["email hr-notice@mail-secure.example 발신 주소", "url https://login-verify.example/sso 피싱 페이지"],
        actions: &["메일 게이트웨이에서 발신 주소를 차단하십시오."], days_ago: 14 },
    Demo { kind: "recommended_actions", tlp: "green", audience: "all", sector: "", severity: "low",
        title_ko: "외부 AI API 사용 시 데이터 반출 통제 권고", title_en: "Controlling data leaving for external AI APIs",
        body_ko: "외부 생성형 AI API를 쓰는 업무에서 개인신용정보가 반출되지 않도록 하는 통제 방안입니다.",
        body_en: "Controls that keep personal credit information from leaving with calls to external generative-AI APIs.",
        cves: &[], cwes: &["CWE-200"], indicators: &[], actions: &["API 호출 전 개인신용정보 가명처리를 강제하십시오.", "호출 기록을 1년 이상 보관하십시오."], days_ago: 12 },
    Demo { kind: "recommended_actions", tlp: "amber", audience: "regulator", sector: "", severity: "medium",
        title_ko: "규제특례 기관 점검 시 확인할 AI 보안 통제", title_en: "AI security controls to check at relief institutions",
        body_ko: "감독당국 점검자가 규제특례 기관을 점검할 때 확인할 통제 목록입니다.",
        body_en: "Controls for supervisors to check when inspecting institutions under relief.",
        cves: &[], cwes: &[], indicators: &[], actions: &["모델 변경 이력과 승인 기록을 확인하십시오."], days_ago: 9 },
    Demo { kind: "vulnerability", tlp: "clear", audience: "all", sector: "", severity: "medium",
        title_ko: "스프링 프레임워크 원격 코드 실행 취약점 재확인", title_en: "Spring Framework RCE, revisited",
        body_ko: "AI 서비스 백엔드에 남아 있는 스프링 취약 버전을 다시 확인하십시오.",
        body_en: "Check AI-service back ends again for vulnerable Spring versions.",
        cves: &["CVE-2022-22965"], cwes: &["CWE-94"], indicators: &[], actions: &["스프링 5.3.18 이상으로 올리십시오."], days_ago: 7 },
    Demo { kind: "emergency_patch_advisory", tlp: "green", audience: "all", sector: "", severity: "critical",
        title_ko: "[긴급] OpenSSH 서버 원격 코드 실행 취약점 패치", title_en: "[Emergency] Patch the OpenSSH server RCE",
        body_ko: "인터넷에 노출된 OpenSSH 서버에서 악용 시도가 확인되었습니다. 해당 CVE의 취약점은 최우선(P1)으로 패치하고 확인 버튼으로 수신을 알려 주십시오.",
        body_en: "Exploitation attempts were seen on internet-facing OpenSSH servers. Patch findings on this CVE first (P1) and acknowledge receipt.",
        cves: &["CVE-2024-6387"], cwes: &["CWE-364"], indicators: &[], actions: &["OpenSSH 9.8p1 이상으로 올리고 결과를 패치 기록에 남기십시오."], days_ago: 6 },
    Demo { kind: "emergency_patch_advisory", tlp: "amber", audience: "sector", sector: "insurance", severity: "critical",
        title_ko: "[긴급] 보험권 청구 심사 AI 모듈 패치", title_en: "[Emergency] Patch the claims-review AI module (insurers)",
        body_ko: "보험 청구 심사에 쓰이는 AI 모듈의 구성요소에서 악용 가능한 취약점이 발견되었습니다.",
        body_en: "An exploitable flaw was found in a component of the AI module used for insurance claims review.",
        cves: &["CVE-2023-4863"], cwes: &["CWE-787"], indicators: &[], actions: &["공급사 패치를 3일 안에 적용하십시오."], days_ago: 5 },
    Demo { kind: "ai_attack_trend", tlp: "amber+strict", audience: "all", sector: "", severity: "high",
        title_ko: "AI 모델 탈취 시도 증가", title_en: "Rising attempts to steal AI models",
        body_ko: "신용평가 모델의 가중치를 빼내려는 시도가 API 대량 질의 형태로 나타나고 있습니다.",
        body_en: "Attempts to extract credit-scoring model weights appear as mass API querying.",
        cves: &[], cwes: &["CWE-770"], indicators: &["ipv6 2001:db8::7 대량 질의 발신지"], actions: &["API 호출량 제한을 두십시오."], days_ago: 3 },
    Demo { kind: "indicators", tlp: "green", audience: "all", sector: "", severity: "medium",
        title_ko: "악성 AI 모델 파일 해시", title_en: "Hashes of malicious AI model files",
        body_ko: "공개 모델 저장소에서 내려받은 모델 파일 중 악성 코드가 숨겨진 파일의 해시입니다.",
        body_en: "Hashes of model files from public hubs that hide malicious code.",
        cves: &[], cwes: &["CWE-502"], indicators: &["md5 5d41402abc4b2a76b9719d911017c592 악성 pickle 모델"], actions: &["모델 파일은 safetensors 형식만 허용하십시오."], days_ago: 2 },
];

/// Seeds the demo bulletins once (nothing when any bulletin exists).
pub async fn seed(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    if !haechi_store::list_bulletins(pool).await?.is_empty() {
        return Ok(());
    }
    let result = seed_bulletins(svc).await;
    svc.set_clock(None);
    result
}

async fn first_user(svc: &Service, role: Role) -> Result<Option<Actor>> {
    Ok(haechi_store::list_users(svc.store().pool(), Some(role))
        .await?
        .first()
        .map(haechi_store::User::actor))
}

async fn seed_bulletins(svc: &Service) -> Result<()> {
    let (Some(analyst), Some(support)) = (
        first_user(svc, Role::Analyst).await?,
        first_user(svc, Role::SupportCenter).await?,
    ) else {
        return Ok(());
    };
    let pool = svc.store().pool();
    let institutions = haechi_store::all_institutions(pool).await?;
    let named: Vec<i64> = institutions.iter().take(3).map(|i| i.id).collect();
    let cisos: Vec<Actor> = haechi_store::list_users(pool, Some(Role::Ciso))
        .await?
        .iter()
        .filter(|u| u.institution_id.is_some())
        .map(haechi_store::User::actor)
        .collect();
    let now: NaiveDateTime = svc.now();
    let mut ids = Vec::new();
    for (n, d) in BULLETINS.iter().enumerate() {
        let (writer, reviewer) = if n % 2 == 0 {
            (&analyst, &support)
        } else {
            (&support, &analyst)
        };
        let input = BulletinInput {
            kind: d.kind.into(),
            title_ko: d.title_ko.into(),
            title_en: d.title_en.into(),
            body_ko: d.body_ko.into(),
            body_en: d.body_en.into(),
            severity: d.severity.into(),
            sources: vec!["금융보안원 침해사고 분석 자료 (가상)".into()],
            products: Vec::new(),
            cves: d.cves.iter().map(|s| s.to_string()).collect(),
            cwes: d.cwes.iter().map(|s| s.to_string()).collect(),
            indicators: d.indicators.iter().map(|s| s.to_string()).collect(),
            actions: d.actions.iter().map(|s| s.to_string()).collect(),
            tlp: d.tlp.into(),
            audience: d.audience.into(),
            audience_sector: d.sector.into(),
            audience_institutions: if d.audience == "named" {
                named.clone()
            } else {
                Vec::new()
            },
            change_note: String::new(),
        };
        let at = now - Duration::days(d.days_ago);
        svc.set_clock(Some(at - Duration::hours(3)));
        let id = svc.create_bulletin(writer, &input).await?;
        svc.submit_bulletin(writer, id).await?;
        svc.set_clock(Some(at));
        svc.publish_bulletin(reviewer, id).await?;
        ids.push(id);
    }
    // The OpenSSH emergency advisory: one demo institution acknowledged it in time,
    // the others are overdue (the P1 SLA has passed).
    if let (Some(id), Some(ciso)) = (ids.get(8), cisos.first()) {
        svc.set_clock(Some(now - Duration::days(5)));
        svc.acknowledge_bulletin(ciso, *id).await?;
    }
    // A correction: version 2 of the vulnerability bulletin.
    if let Some(id) = ids.get(2) {
        svc.set_clock(Some(now - Duration::days(20)));
        svc.correct_bulletin(&support, *id).await?;
        let row = haechi_store::get_bulletin(pool, *id).await?;
        if let Some(row) = row {
            let mut input =
                crate::sharing::input_of(&crate::sharing::BulletinContent::from_row(&row));
            input
                .actions
                .push("게이트웨이 로그에서 ${jndi: 문자열을 검색하십시오.".into());
            input.change_note = "탐지 방법(로그 검색어)을 추가했습니다.".into();
            svc.update_bulletin(&support, *id, &input).await?;
            svc.submit_bulletin(&support, *id).await?;
            svc.publish_bulletin(&analyst, *id).await?;
        }
    }
    // A withdrawn trend analysis, and a draft waiting for review.
    if let Some(id) = ids.get(1) {
        svc.set_clock(Some(now - Duration::days(30)));
        svc.withdraw_bulletin(&analyst, *id, "동일 내용의 보고서로 대체되었습니다.")
            .await?;
    }
    svc.set_clock(Some(now - Duration::hours(2)));
    let draft = BulletinInput {
        kind: "ai_attack_trend".into(),
        title_ko: "2026년 4분기 AI 공격 동향 (초안)".into(),
        body_ko: "검토 대기 중인 초안입니다.".into(),
        severity: "medium".into(),
        tlp: "green".into(),
        audience: "all".into(),
        ..BulletinInput::default()
    };
    let id = svc.create_bulletin(&analyst, &draft).await?;
    svc.submit_bulletin(&analyst, id).await?;
    Ok(())
}
