//! Demo data for `haechi demo`: fills an empty instance with a fictional but realistic program
//! history — about 150 institutions (49 eligible under the default policy), the regulator-side
//! and institution accounts, phase 1 and phase 2 completed with confirmed cohorts, and Q4
//! applications in every state of the lifecycle.
//!
//! Everything is written through the service's own use cases, so the audit log, the screening
//! records, the evaluations and the decisions are real; the service clock is set to past dates
//! while the history is written. The data is generated in code and deterministic (a fixed-seed
//! generator; only the API tokens are random). Every name is invented: no real institution,
//! person or product appears here.
//!
//! [`seed`] does nothing to an instance that already has institutions: the demo reuses its data
//! directory and must not pile a second history on the first.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveDateTime};
use haechi_core::application::ApplicationContent;
use haechi_core::{
    Actor, ApplicationAction, InstitutionInput, Role, Sector, ServiceEntry, SizeClass,
};
use haechi_policy::evaluation::{self, CriterionScore, EvaluationResult, ReviewerScores};
use haechi_policy::{Policy, Rubric};
use haechi_store::InstitutionFilter;
use serde::Serialize;

use crate::reviews::ScoreInput;
use crate::{Result, Service, ServiceError};

/// The password every demo account is meant to log in with once the web portal has passwords.
/// It is reported, never hashed or stored here.
pub const DEMO_PASSWORD: &str = "haechi-demo";

/// The date the registry figures refer to.
const AS_OF: (i32, u32, u32) = (2025, 12, 31);
/// The date of the mid-year figure updates.
const MID_YEAR: (i32, u32, u32) = (2026, 6, 30);

/// What [`seed`] did, or found.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// `false` when the instance already had data and nothing was written.
    pub seeded: bool,
    pub institutions: usize,
    pub eligible: usize,
    pub accounts: Vec<DemoAccount>,
    pub applications_by_state: Vec<(String, i64)>,
    pub cohorts: Vec<(String, usize)>,
}

/// A demo login.
#[derive(Debug, Clone, Serialize)]
pub struct DemoAccount {
    pub username: String,
    pub role: String,
    /// The institution's Korean name, for institution roles.
    pub institution: Option<String>,
    /// The API token issued now; `None` when the instance was seeded earlier (tokens are stored
    /// only as hashes and cannot be shown again).
    pub token: Option<String>,
    pub password: String,
}

/// Fills an empty instance with the demo program history; reports what exists when the instance
/// already has institutions.
pub async fn seed(svc: &Service) -> Result<DemoSummary> {
    let system = Actor::system();
    let (_, existing) = svc
        .list_institutions(
            &system,
            &InstitutionFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if existing > 0 {
        let accounts = existing_accounts(svc, &system).await?;
        return summarize(svc, &system, false, accounts).await;
    }
    let result = write_history(svc, &system).await;
    svc.set_clock(None);
    let accounts = result?;
    crate::demo_patching::seed(svc).await?;
    crate::demo_reports::seed(svc).await?;
    crate::demo_ai::seed(svc).await?;
    crate::demo_immunity::seed(svc).await?;
    crate::demo_support::seed(svc).await?;
    crate::demo_sharing::seed(svc).await?;
    crate::demo_bodies::seed(svc).await?;
    crate::demo_response::seed(svc).await?;
    let mut accounts = accounts;
    // Accounts the later chapters opened (the funded fintech's), with tokens like the rest.
    for later in existing_accounts(svc, &system).await? {
        if accounts.iter().any(|a| a.username == later.username) {
            continue;
        }
        let Some(u) =
            haechi_store::get_user_by_username(svc.store().pool(), &later.username).await?
        else {
            continue;
        };
        let token = svc.issue_token(&system, u.id, "demo").await?;
        accounts.push(DemoAccount {
            token: Some(token),
            ..later
        });
    }
    summarize(svc, &system, true, accounts).await
}

async fn summarize(
    svc: &Service,
    system: &Actor,
    seeded: bool,
    accounts: Vec<DemoAccount>,
) -> Result<DemoSummary> {
    let dashboard = svc.dashboard(system).await?;
    let cohorts = svc
        .list_cohorts(system)
        .await?
        .into_iter()
        .map(|c| (c.phase_id, c.members.len()))
        .collect();
    Ok(DemoSummary {
        seeded,
        institutions: dashboard.institutions,
        eligible: dashboard.eligible,
        accounts,
        applications_by_state: dashboard.applications_by_state,
        cohorts,
    })
}

/// The demo accounts of an instance seeded earlier, without tokens.
async fn existing_accounts(svc: &Service, system: &Actor) -> Result<Vec<DemoAccount>> {
    let users = svc.list_users(system, None).await?;
    let (institutions, _) = svc
        .list_institutions(
            system,
            &InstitutionFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let names: Vec<String> = demo_usernames();
    let mut out = Vec::new();
    for name in &names {
        let Some(u) = users.iter().find(|u| &u.username == name) else {
            continue;
        };
        let institution = u
            .institution_id
            .and_then(|id| institutions.iter().find(|i| i.id == id))
            .map(|i| i.input.name_ko.clone());
        out.push(DemoAccount {
            username: u.username.clone(),
            role: u.role.as_str().to_string(),
            institution,
            token: None,
            password: DEMO_PASSWORD.to_string(),
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// Deterministic generator

/// SplitMix64: tiny, fixed-seed, and stable across platforms and crate versions.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
        lo + i64::try_from(self.next() % span).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        let n = u64::try_from(items.len()).unwrap_or(1);
        items.get(usize::try_from(self.next() % n).unwrap_or(0))
    }
}

fn date(ymd: (i32, u32, u32)) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)
        .ok_or_else(|| ServiceError::rule("demo_data", format!("invalid date {ymd:?}")))
}

/// `day` plus `offset` days at `hour:minute`.
fn at(day: NaiveDate, offset: u64, hour: u32, minute: u32) -> Result<NaiveDateTime> {
    day.checked_add_days(Days::new(offset))
        .and_then(|d| d.and_hms_opt(hour, minute, 0))
        .ok_or_else(|| {
            ServiceError::rule(
                "demo_data",
                format!("invalid time {day} +{offset}d {hour}:{minute}"),
            )
        })
}

// ------------------------------------------------------------------------------------------
// Institutions

/// Invented name stems (Korean, romanised, slug). Institutions of different sectors share a stem
/// the way members of one financial group do.
const STEMS: [(&str, &str, &str); 40] = [
    ("한빛", "Hanbit", "hanbit"),
    ("새봄", "Saebom", "saebom"),
    ("가람", "Garam", "garam"),
    ("미르", "Mireu", "mireu"),
    ("해밀", "Haemil", "haemil"),
    ("라온", "Raon", "raon"),
    ("윤슬", "Yunseul", "yunseul"),
    ("다솜", "Dasom", "dasom"),
    ("소담", "Sodam", "sodam"),
    ("늘솔", "Neulsol", "neulsol"),
    ("도담", "Dodam", "dodam"),
    ("한결", "Hangyeol", "hangyeol"),
    ("이음", "Ieum", "ieum"),
    ("별하", "Byeolha", "byeolha"),
    ("온새미", "Onsaemi", "onsaemi"),
    ("은솔", "Eunsol", "eunsol"),
    ("가온", "Gaon", "gaon"),
    ("하람", "Haram", "haram"),
    ("나린", "Narin", "narin"),
    ("새결", "Saegyeol", "saegyeol"),
    ("단미", "Danmi", "danmi"),
    ("로운", "Roun", "roun"),
    ("찬솔", "Chansol", "chansol"),
    ("해솔", "Haesol", "haesol"),
    ("빛누리", "Bitnuri", "bitnuri"),
    ("마루", "Maru", "maru"),
    ("여울", "Yeoul", "yeoul"),
    ("초롱", "Chorong", "chorong"),
    ("늘봄", "Neulbom", "neulbom"),
    ("단비", "Danbi", "danbi"),
    ("그루", "Geuru", "geuru"),
    ("솔빛", "Solbit", "solbit"),
    ("해든", "Haedeun", "haedeun"),
    ("아람", "Aram", "aram"),
    ("시나브로", "Sinabro", "sinabro"),
    ("모아든", "Moadeun", "moadeun"),
    ("청람", "Cheongram", "cheongram"),
    ("비채", "Bichae", "bichae"),
    ("새누", "Saenu", "saenu"),
    ("하빈", "Habin", "habin"),
];

const FAMILY_NAMES: [&str; 20] = [
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황",
    "안", "송", "류", "홍",
];
const GIVEN_NAMES: [&str; 24] = [
    "민준", "서연", "지훈", "하은", "도윤", "수빈", "현우", "지민", "준호", "유진", "성민", "은지",
    "태현", "소영", "재원", "미경", "동현", "혜진", "영수", "정희", "상철", "보람", "경민", "다인",
];

/// What a registry row is meant to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eligible,
    /// Exactly KRW 10 trillion: the threshold is inclusive, so eligible.
    ExactlyTenTrillion,
    /// One won short of KRW 10 trillion: not eligible.
    JustUnderTenTrillion,
    /// Large, but 999 full-time employees: not eligible.
    Employees999,
    /// Large, but the CISO also runs IT: not eligible.
    NoDedicatedCiso,
    Ineligible,
}

struct SectorPlan {
    sector: Sector,
    code: &'static str,
    slug: &'static str,
    stem_offset: usize,
    /// (Korean, English) name endings, used in turn.
    suffixes: &'static [(&'static str, &'static str)],
    /// Row kinds by position; positions past the list are `Ineligible`.
    kinds: &'static [Kind],
    count: usize,
    /// Eligible assets run from the first to the second value (KRW trillion); employees likewise.
    eligible_assets_tn: (i64, i64),
    eligible_staff: (i64, i64),
    /// Assets of the others (KRW billion) and their staff.
    other_assets_bn: (i64, i64),
    other_staff: (i64, i64),
}

use Kind::{
    Eligible as E, Employees999 as E999, ExactlyTenTrillion as E10, JustUnderTenTrillion as U10,
    NoDedicatedCiso as NOCISO,
};

const SECTORS: [SectorPlan; 6] = [
    SectorPlan {
        sector: Sector::Bank,
        code: "BNK",
        slug: "bank",
        stem_offset: 0,
        suffixes: &[("은행", "Bank")],
        kinds: &[E, E, E, E, E, E, E, E, E, E, E, E, E, E, E10, U10, E999],
        count: 24,
        eligible_assets_tn: (520, 14),
        eligible_staff: (15_800, 1_450),
        other_assets_bn: (1_800, 9_400),
        other_staff: (260, 980),
    },
    SectorPlan {
        sector: Sector::Securities,
        code: "SEC",
        slug: "sec",
        stem_offset: 5,
        suffixes: &[
            ("증권", "Securities"),
            ("투자증권", "Investment & Securities"),
        ],
        kinds: &[E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E999, NOCISO],
        count: 32,
        eligible_assets_tn: (98, 11),
        eligible_staff: (4_900, 1_060),
        other_assets_bn: (300, 8_800),
        other_staff: (90, 950),
    },
    SectorPlan {
        sector: Sector::Insurance,
        code: "INS",
        slug: "ins",
        stem_offset: 1,
        suffixes: &[
            ("생명", "Life"),
            ("손해보험", "General Insurance"),
            ("화재", "Fire & Marine"),
        ],
        kinds: &[E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E999],
        count: 34,
        eligible_assets_tn: (318, 12),
        eligible_staff: (6_400, 1_120),
        other_assets_bn: (450, 9_600),
        other_staff: (120, 990),
    },
    SectorPlan {
        sector: Sector::Card,
        code: "CRD",
        slug: "card",
        stem_offset: 9,
        suffixes: &[("카드", "Card")],
        kinds: &[E, E, E, E],
        count: 9,
        eligible_assets_tn: (46, 13),
        eligible_staff: (3_100, 1_150),
        other_assets_bn: (900, 7_800),
        other_staff: (150, 900),
    },
    SectorPlan {
        sector: Sector::SavingsBank,
        code: "SAV",
        slug: "sb",
        stem_offset: 14,
        suffixes: &[("저축은행", "Savings Bank")],
        kinds: &[],
        count: 28,
        eligible_assets_tn: (0, 0),
        eligible_staff: (0, 0),
        // The largest savings bank passes the assets rule but has 760 staff.
        other_assets_bn: (200, 13_600),
        other_staff: (40, 760),
    },
    SectorPlan {
        sector: Sector::Fintech,
        code: "FIN",
        slug: "pay",
        stem_offset: 20,
        suffixes: &[("페이", "Pay"), ("머니", "Money"), ("핀테크", "Fintech")],
        kinds: &[],
        count: 23,
        eligible_assets_tn: (0, 0),
        eligible_staff: (0, 0),
        other_assets_bn: (15, 6_200),
        other_staff: (25, 2_600),
    },
];

const TRILLION: i64 = 1_000_000_000_000;
const BILLION: i64 = 1_000_000_000;

fn person(rng: &mut Prng) -> String {
    let f = rng.pick(&FAMILY_NAMES).copied().unwrap_or("김");
    let g = rng.pick(&GIVEN_NAMES).copied().unwrap_or("민준");
    format!("{f}{g}")
}

/// One generated registry row, with what it is meant to show.
struct Row {
    input: InstitutionInput,
    kind: Kind,
    sector_index: usize,
}

fn institution_rows() -> Result<Vec<Row>> {
    let as_of = date(AS_OF)?;
    let mut rng = Prng(0x4841_4543_4849_0001);
    let mut rows = Vec::new();
    for plan in &SECTORS {
        let eligible_n = plan
            .kinds
            .iter()
            .filter(|k| matches!(k, Kind::Eligible | Kind::ExactlyTenTrillion))
            .count()
            .max(2);
        for i in 0..plan.count {
            let kind = plan.kinds.get(i).copied().unwrap_or(Kind::Ineligible);
            let (stem_ko, stem_en, stem_slug) = STEMS[(plan.stem_offset + i) % STEMS.len()];
            let (suffix_ko, suffix_en) = plan.suffixes[i % plan.suffixes.len()];
            // Eligible rows step down from the largest; a little jitter keeps them from looking
            // generated.
            let step = |(top, bottom): (i64, i64), unit: i64| {
                let i = i64::try_from(i).unwrap_or(0);
                let n = i64::try_from(eligible_n).unwrap_or(2) - 1;
                (top * unit) - (top - bottom) * unit / n.max(1) * i.min(n)
            };
            let jitter = |rng: &mut Prng, v: i64, pct: i64| v + v / 100 * rng.range(-pct, pct);
            let (assets, staff, dedicated) = match kind {
                Kind::Eligible => {
                    let a = jitter(&mut rng, step(plan.eligible_assets_tn, TRILLION), 3) / BILLION
                        * BILLION
                        + rng.range(0, 999) * 1_000_000;
                    let a = a.max(10 * TRILLION + 350 * BILLION);
                    let s = jitter(&mut rng, step(plan.eligible_staff, 1), 4).max(1_020);
                    (a, s, true)
                }
                Kind::ExactlyTenTrillion => (10 * TRILLION, 1_240, true),
                Kind::JustUnderTenTrillion => (10 * TRILLION - 1, 1_620, true),
                Kind::Employees999 => (
                    rng.range(11_000, 24_000) * BILLION + rng.range(0, 999) * 1_000_000,
                    999,
                    true,
                ),
                Kind::NoDedicatedCiso => (17_400 * BILLION + 380_000_000_000, 1_380, false),
                Kind::Ineligible => {
                    let (lo, hi) = plan.other_assets_bn;
                    // The first of each sector's others is its largest: a natural near-miss.
                    let a = if i == plan.kinds.len() {
                        hi * BILLION + rng.range(0, 900) * 100_000_000
                    } else {
                        rng.range(lo, hi * 2 / 3) * BILLION + rng.range(0, 999) * 1_000_000
                    };
                    let (slo, shi) = plan.other_staff;
                    let s = if i == plan.kinds.len() {
                        shi
                    } else {
                        rng.range(slo, shi)
                    };
                    // Whoever has the staff must lack the assets, or the row would be eligible.
                    let a = if s >= 1_000 {
                        a.min(10 * TRILLION - 50 * BILLION)
                    } else {
                        a
                    };
                    (a, s, a >= 3 * TRILLION || (s >= 700 && rng.chance(50)))
                }
            };
            let size_class = if assets >= 10 * TRILLION {
                SizeClass::Large
            } else if assets >= 2 * TRILLION {
                SizeClass::Medium
            } else {
                SizeClass::Small
            };
            let ciso = person(&mut rng);
            let ciso_name = if dedicated {
                Some(ciso)
            } else if kind == Kind::NoDedicatedCiso || assets >= TRILLION {
                Some(format!("{ciso} (CIO 겸직)"))
            } else {
                None
            };
            let contact = person(&mut rng);
            let domain = format!("{stem_slug}-{}.example", plan.slug);
            rows.push(Row {
                input: InstitutionInput {
                    code: format!("{}-{:03}", plan.code, i + 1),
                    name_ko: format!("{stem_ko}{suffix_ko}"),
                    name_en: format!("{stem_en} {suffix_en}"),
                    sector: plan.sector,
                    total_assets_krw: assets,
                    assets_as_of: as_of,
                    full_time_employees: staff,
                    employees_as_of: as_of,
                    dedicated_ciso: dedicated,
                    ciso_name,
                    size_class,
                    contact_name: Some(format!("{contact} (정보보호부)")),
                    contact_email: Some(format!("security@{domain}")),
                    contact_phone: Some(format!(
                        "02-{}-{:04}",
                        rng.range(2100, 6999),
                        rng.range(0, 9999)
                    )),
                },
                kind,
                sector_index: i,
            });
        }
    }
    Ok(rows)
}

fn csv_text(rows: &[Row]) -> Result<Vec<u8>> {
    crate::institutions::write_csv(rows.iter().map(|r| &r.input))
}

// ------------------------------------------------------------------------------------------
// Accounts

struct StaffAccount {
    username: &'static str,
    display_name: &'static str,
    role: Role,
}

const REGULATOR_ACCOUNTS: [StaffAccount; 12] = [
    StaffAccount {
        username: "admin",
        display_name: "김도현 (금융위원회 금융안전과)",
        role: Role::RegulatorAdmin,
    },
    StaffAccount {
        username: "officer",
        display_name: "이수진 (금융감독원 디지털금융감독국)",
        role: Role::RegulatorOfficer,
    },
    StaffAccount {
        username: "analyst",
        display_name: "박지훈 (금융보안원 금융AI보안연구소)",
        role: Role::Analyst,
    },
    StaffAccount {
        username: "support",
        display_name: "최유나 (금융보안원 AI보안지원센터)",
        role: Role::SupportCenter,
    },
    // The advisory group: four academics and three lawyers.
    StaffAccount {
        username: "advisor1",
        display_name: "정민호 교수 (한결대학교 정보보호대학원)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor2",
        display_name: "강서윤 교수 (가람대학교 인공지능학과)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor3",
        display_name: "조현석 교수 (미르과학기술원 전산학부)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor4",
        display_name: "윤하린 교수 (새결대학교 금융공학과)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor5",
        display_name: "장태윤 변호사 (법무법인 도담)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor6",
        display_name: "임소연 변호사 (법무법인 여울)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "advisor7",
        display_name: "한재민 변호사 (법무법인 청람)",
        role: Role::Advisor,
    },
    StaffAccount {
        username: "auditor",
        display_name: "오지원 (금융위원회 감사담당관실)",
        role: Role::Auditor,
    },
];

/// The two institutions whose CISO and staff get demo logins: (code, login stem).
const DEMO_INSTITUTIONS: [(&str, &str); 2] = [("BNK-001", "hanbit"), ("INS-001", "saebom")];

fn demo_usernames() -> Vec<String> {
    let mut v: Vec<String> = REGULATOR_ACCOUNTS
        .iter()
        .map(|a| a.username.to_string())
        .collect();
    for (_, stem) in DEMO_INSTITUTIONS {
        v.push(format!("ciso.{stem}"));
        v.push(format!("staff.{stem}"));
    }
    v.extend(
        crate::demo_support::ACCOUNTS
            .iter()
            .map(|(name, _, _)| name.to_string()),
    );
    v
}

// ------------------------------------------------------------------------------------------
// Application content

const AI_SERVICES: [(&str, &str, &[&str]); 5] = [
    (
        "Aegis Reasoner 3 (취약점 분석 모델)",
        "Kestrelwood AI",
        &["ISO/IEC 27001", "SOC 2 Type II", "ISO/IEC 42001"],
    ),
    (
        "DeepProbe Security Agent",
        "Nuvola Labs",
        &["ISO/IEC 27001", "SOC 2 Type II"],
    ),
    (
        "SentryMind Code Auditor",
        "Bluefin Intelligence",
        &["ISO/IEC 27001", "CSAP"],
    ),
    (
        "누리보안 AI 모의해킹 (NuriSec AutoPentest)",
        "누리시큐어 (NuriSecure)",
        &["ISMS-P", "CSAP"],
    ),
    (
        "Cobalt Reasoning Model 2 (보안 특화)",
        "Stratoline AI",
        &["SOC 2 Type II", "ISO/IEC 42001"],
    ),
];

const SAAS: [(&str, &str, &[&str]); 6] = [
    (
        "CloudWard CSPM",
        "Orbisec",
        &["CSAP", "ISO/IEC 27001", "ISO/IEC 27017"],
    ),
    (
        "MailShield 클라우드 메일보안",
        "강화소프트 (Ganghwa Soft)",
        &["CSAP", "ISMS-P"],
    ),
    (
        "CodeGuard SAST Cloud",
        "별빛시큐리티 (Byeolbit Security)",
        &["ISO/IEC 27001", "SOC 2 Type II"],
    ),
    (
        "ThreatLens 위협인텔리전스",
        "Sorin Cyber",
        &["ISO/IEC 27001", "CSAP"],
    ),
    ("PatchPilot 패치관리", "Meridian Ops", &["SOC 2 Type II"]),
    (
        "Yeoul EDR Cloud",
        "여울보안 (Yeoul Security)",
        &["CSAP", "ISO/IEC 27001"],
    ),
];

const CONTROLS: [&str; 4] = [
    "AI 취약점 진단은 업무망과 분리된 전용 진단 구간에서만 수행하며, 외부 AI 서비스 접속은 허용 목록(allow-list) 기반 프록시로 제한한다. \
     고객 개인(신용)정보(C등급)는 DLP로 전송을 차단하고, 진단 대상 소스코드는 비식별 처리 후 전송한다. 모든 프롬프트·응답 기록은 1년간 보관한다. \
     / AI assessment runs only in a dedicated segment; egress via an allow-listed proxy; DLP blocks class-C data; prompts and responses are logged for one year.",
    "보안 SaaS 이용 시 CSAP 인증 서비스만 사용하고, 관리자 접속은 MFA와 전용 단말로 제한한다. SaaS 설정 변경은 CISO 승인 후 반영하며, \
     반기별 자체 점검 결과를 CISO에게 보고한다. 중요 처리(C등급) 데이터는 SaaS로 이전하지 않는다. \
     / Certified SaaS only; admin access with MFA from dedicated terminals; changes approved by the CISO; half-yearly self-evaluation reported to the CISO.",
    "AI 진단 결과는 내부 취약점관리시스템에 등록하여 위험도별 조치기한(P1 3일~P5 180일)에 따라 관리하고, 긴급 패치 전 사전 테스트와 롤백 계획을 수립한다. \
     AI 모델 공급사와 데이터 비보유(zero retention) 계약을 체결하였다. \
     / Findings tracked by priority SLA in the internal vulnerability system; pre-tested emergency patches with rollback plans; zero-retention contract with the AI vendor.",
    "정보보호위원회가 분기별로 AI 보안 활용 현황을 점검하고, 레드팀 결과는 금융보안원 공유 양식에 따라 분기 보고한다. 외부 AI 접속 계정은 개인별로 발급하고 \
     퇴직·전보 시 즉시 회수한다. / The security committee reviews AI use quarterly; red-team results are reported in the FSI format; personal accounts revoked on leave.",
];

fn application_content(
    rng: &mut Prng,
    policy: &Policy,
    self_level: u8,
    complete: bool,
) -> ApplicationContent {
    let ai = rng.chance(80);
    let saas = !ai || rng.chance(60);
    let mut services = Vec::new();
    let entry =
        |kind: &str, (name, vendor, certs): (&str, &str, &[&str]), classes: &[&str]| ServiceEntry {
            kind: kind.to_string(),
            name: name.to_string(),
            vendor: vendor.to_string(),
            certifications: certs.iter().map(|c| c.to_string()).collect(),
            data_classes: classes.iter().map(|c| c.to_string()).collect(),
        };
    if ai {
        if let Some(s) = rng.pick(&AI_SERVICES) {
            services.push(entry("ai_service", *s, &["S", "O"]));
        }
    }
    if saas {
        let n = rng.range(1, 2);
        for _ in 0..n {
            if let Some(s) = rng.pick(&SAAS) {
                if !services.iter().any(|e| e.name == s.0) {
                    services.push(entry(
                        "saas",
                        *s,
                        if rng.chance(50) { &["O"] } else { &["S", "O"] },
                    ));
                }
            }
        }
    }
    let mut controls = Vec::new();
    let first = usize::try_from(rng.range(0, 3)).unwrap_or(0);
    controls.push(CONTROLS[first % CONTROLS.len()]);
    controls.push(CONTROLS[(first + 2) % CONTROLS.len()]);
    let mut self_assessment = BTreeMap::new();
    for (k, c) in policy.evaluation.criteria.iter().enumerate() {
        if !complete && k % 3 == 2 {
            continue;
        }
        let bump = u8::from(rng.chance(30));
        self_assessment.insert(
            c.id.clone(),
            (self_level + bump).clamp(1, top_level(policy)),
        );
    }
    ApplicationContent {
        ai_vulnerability_assessment: ai,
        security_saas: saas,
        services: if complete {
            services
        } else {
            services.into_iter().take(1).collect()
        },
        internal_controls: if complete {
            controls.join("\n\n")
        } else {
            String::new()
        },
        self_assessment,
    }
}

fn top_level(policy: &Policy) -> u8 {
    u8::try_from(policy.evaluation.scale.len())
        .unwrap_or(4)
        .max(1)
}

// ------------------------------------------------------------------------------------------
// Scores

/// How an application's reviews come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Passes, reviewers within one level of each other.
    Pass,
    /// Passes, with reviewers two levels apart on one security criterion.
    PassWithDisagreement,
    /// One security area scored at the bottom.
    WeakSecurityArea,
    /// The AI rubric's mean below its pass mark.
    WeakAi,
    /// The security rubric's mean below its pass mark, no area at the bottom.
    SecurityMeanLow,
}

impl Profile {
    fn passes(self) -> bool {
        matches!(self, Profile::Pass | Profile::PassWithDisagreement)
    }
}

/// Score sheets: `sheets[reviewer][criterion]`, in policy criterion order.
fn score_sheets(
    rng: &mut Prng,
    policy: &Policy,
    profile: Profile,
    reviewers: usize,
) -> Result<Vec<Vec<u8>>> {
    let top = top_level(policy);
    let criteria = &policy.evaluation.criteria;
    let mut sheets = vec![vec![0u8; criteria.len()]; reviewers];
    let security: Vec<usize> = criteria
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rubric == Rubric::Security)
        .map(|(i, _)| i)
        .collect();
    let weak_area = security
        .get(usize::try_from(rng.range(0, 6)).unwrap_or(0) % security.len().max(1))
        .copied();
    for (k, c) in criteria.iter().enumerate() {
        let base: u8 = match (profile, c.rubric) {
            (Profile::WeakAi, Rubric::Ai) => 2,
            (Profile::SecurityMeanLow, Rubric::Security) => {
                if rng.chance(35) {
                    3
                } else {
                    2
                }
            }
            _ => {
                if rng.chance(45) {
                    top
                } else {
                    top.saturating_sub(1).max(1)
                }
            }
        };
        for sheet in sheets.iter_mut() {
            // Reviewers differ by at most one level: down from the top, up otherwise.
            let s = if rng.chance(30) {
                if base >= top {
                    base - 1
                } else if profile == Profile::WeakAi && c.rubric == Rubric::Ai {
                    base.saturating_sub(1).max(1)
                } else {
                    base + 1
                }
            } else {
                base
            };
            sheet[k] = s.clamp(1, top);
        }
        if profile == Profile::WeakSecurityArea && Some(k) == weak_area {
            for (r, sheet) in sheets.iter_mut().enumerate() {
                sheet[k] = if r == 1 { 2 } else { 1 };
            }
        }
    }
    if profile == Profile::PassWithDisagreement {
        if let Some(&k) = security.get(3).or(security.first()) {
            for (r, sheet) in sheets.iter_mut().enumerate() {
                sheet[k] = match r % 3 {
                    0 => top.saturating_sub(2).max(1),
                    1 => top,
                    _ => top.saturating_sub(1).max(1),
                };
            }
        }
    }
    // Tune until the policy's own aggregation agrees with the intended outcome: raise the
    // lowest score for a pass; lower the highest score of the weak rubric for a failure.
    let weak_rubric = if profile == Profile::WeakAi {
        Rubric::Ai
    } else {
        Rubric::Security
    };
    for _ in 0..200 {
        let result = aggregate(policy, &sheets)?;
        if result.passed == profile.passes() {
            return Ok(sheets);
        }
        let cells = sheets
            .iter()
            .enumerate()
            .flat_map(|(r, s)| s.iter().enumerate().map(move |(k, v)| (r, k, *v)));
        let target = if profile.passes() {
            cells
                .filter(|&(_, _, v)| v < top)
                .min_by_key(|&(r, k, v)| (v, k, r))
        } else {
            cells
                .filter(|&(_, k, v)| {
                    v > 1 && criteria.get(k).is_some_and(|c| c.rubric == weak_rubric)
                })
                .max_by_key(|&(r, k, v)| (v, k, r))
        };
        let Some((r, k, _)) = target else { break };
        if let Some(cell) = sheets.get_mut(r).and_then(|s| s.get_mut(k)) {
            if profile.passes() {
                *cell += 1;
            } else {
                *cell -= 1;
            }
        }
    }
    Err(ServiceError::rule(
        "demo_data",
        format!("could not build {profile:?} scores under this policy"),
    ))
}

fn aggregate(policy: &Policy, sheets: &[Vec<u8>]) -> Result<EvaluationResult> {
    let reviewer_sheets: Vec<ReviewerScores> = sheets
        .iter()
        .enumerate()
        .map(|(r, s)| ReviewerScores {
            reviewer_id: i64::try_from(r).unwrap_or(0) + 1,
            scores: policy
                .evaluation
                .criteria
                .iter()
                .zip(s)
                .map(|(c, v)| CriterionScore {
                    criterion: c.id.clone(),
                    score: *v,
                })
                .collect(),
        })
        .collect();
    evaluation::aggregate(policy, &reviewer_sheets)
        .map_err(|e| ServiceError::rule("demo_data", e.to_string()))
}

/// A reviewer's written justification for a score.
fn justification(criterion: &str, label_ko: &str, score: u8) -> String {
    let evidence = match criterion {
        "governance" => "정보보호위원회 운영 및 CISO의 이사회 보고 체계",
        "identify" => "정보자산 목록과 C/S/O 등급 분류 현행화",
        "protect" => "접근통제·암호화 및 망분리 대체 통제",
        "detect" => "보안관제(SOC) 탐지 규칙과 AI 기반 이상징후 탐지",
        "respond" => "침해사고 대응 절차와 모의훈련 실적",
        "recover" => "업무연속성 계획(BCP)과 복구 목표시간(RTO) 검증",
        "supply_chain" => "SaaS·AI 공급사 보안 점검과 계약상 보안 요구사항",
        "ai_governance" => "AI 활용 정책, 책임자 지정 및 사용 승인 절차",
        "ai_expertise" => "AI 보안 전담 인력과 교육·레드팀 역량",
        "ai_security_controls" => "프롬프트·응답 로깅, 데이터 유출 방지 및 모델 접근통제",
        "use_case_maturity" => "AI 취약점 진단 파일럿 결과와 적용 범위",
        "data_protection" => "학습·입력 데이터의 비식별 처리와 전송 통제",
        _ => label_ko,
    };
    let verdict = match score {
        4 => "이(가) 고도화되어 있고 정기 점검 결과가 문서로 입증됨.",
        3 => "이(가) 정착되어 운영 중이나 일부 증적 보완이 필요함.",
        2 => "의 기본 절차는 수립되었으나 운영 실적이 부족함.",
        _ => "이(가) 수립되지 않았거나 증적이 제출되지 않음. 보완 전 특례 적용은 곤란함.",
    };
    format!("[{label_ko}] {evidence}{verdict}")
}

fn score_inputs(policy: &Policy, sheet: &[u8]) -> Vec<ScoreInput> {
    policy
        .evaluation
        .criteria
        .iter()
        .zip(sheet)
        .map(|(c, v)| ScoreInput {
            criterion: c.id.clone(),
            score: i64::from(*v),
            justification: justification(&c.id, &c.label_ko, *v),
        })
        .collect()
}

fn rubric_mean(result: &EvaluationResult, rubric: Rubric) -> f64 {
    result
        .rubrics
        .iter()
        .find(|r| r.rubric == rubric)
        .map_or(0.0, |r| r.weighted_mean)
}

// ------------------------------------------------------------------------------------------
// Applications

/// How far an application is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A draft that was never submitted (incomplete).
    Draft,
    /// Submitted, then returned for correction during screening.
    Returned,
    Submitted,
    /// In screening with this many reviewers assigned.
    Screening(usize),
    /// Under review with this many reviews submitted (one more saved as a draft when some are
    /// still open).
    UnderReview(usize),
    /// Evaluated, no decision yet.
    Evaluated,
    /// Decided: approved when the profile passes, rejected otherwise.
    Decided,
    /// Withdrawn by the CISO during screening.
    Withdrawn,
}

struct Plan {
    institution: usize,
    target: Target,
    profile: Profile,
    /// First day; later steps follow at fixed offsets.
    start: NaiveDate,
    /// The first assigned advisor declares a conflict and is replaced.
    conflict: bool,
}

struct Ctx<'a> {
    svc: &'a Service,
    policy: &'a Policy,
    officer: Actor,
    advisors: Vec<Actor>,
    /// Rotates through the advisors.
    next_advisor: usize,
    rng: Prng,
}

/// An eligible institution with its applying users.
struct Applicant {
    name_ko: String,
    ciso: Actor,
    staff: Option<Actor>,
}

impl Ctx<'_> {
    fn clock(&self, t: NaiveDateTime) {
        self.svc.set_clock(Some(t));
    }

    fn take_advisors(&mut self, n: usize) -> Vec<Actor> {
        let mut out = Vec::new();
        for _ in 0..n {
            if let Some(a) = self
                .advisors
                .get(self.next_advisor % self.advisors.len().max(1))
            {
                out.push(a.clone());
            }
            self.next_advisor += 1;
        }
        out
    }

    /// An advisor not in `taken`.
    fn replacement(&self, taken: &[Actor]) -> Option<Actor> {
        let n = self.advisors.len();
        (0..n)
            .map(|i| (self.next_advisor + i) % n)
            .filter_map(|i| self.advisors.get(i))
            .find(|a| taken.iter().all(|t| t.user_id != a.user_id))
            .cloned()
    }

    async fn run(&mut self, who: &Applicant, plan: &Plan) -> Result<()> {
        use ApplicationAction as A;
        let svc = self.svc;
        let policy = self.policy;
        let d = plan.start;
        let officer = self.officer.clone();
        let self_level = if plan.profile.passes() { 3 } else { 2 };
        let complete = plan.target != Target::Draft;
        let self_level = self_level + u8::from(plan.profile.passes() && self.rng.chance(40));
        let content = application_content(&mut self.rng, policy, self_level, complete);

        self.clock(at(d, 0, 10, 12)?);
        let app = svc.create_application(&who.ciso, content).await?;
        let id = app.id;
        self.clock(at(d, 1, 14, 40)?);
        let uploader = who.staff.as_ref().unwrap_or(&who.ciso);
        let plan_doc = format!(
            "{} — 망분리 규제 특례 내부통제 계획서 (요약)\n\n1. 적용 범위: AI 취약점 진단 및 보안 SaaS\n2. 데이터 등급별 통제: C등급 전송 금지, S등급 비식별 후 전송\n3. 보고: 분기별 AI 취약점 점검 결과 공유\n",
            who.name_ko
        );
        svc.add_attachment(
            uploader,
            id,
            "internal-controls-plan.txt",
            "text/plain; charset=utf-8",
            plan_doc.as_bytes(),
        )
        .await?;
        if plan.target == Target::Draft {
            return Ok(());
        }
        self.clock(at(d, 2, 16, 5)?);
        svc.transition(&who.ciso, id, A::Submit, None).await?;
        if plan.target == Target::Submitted {
            return Ok(());
        }
        self.clock(at(d, 4, 9, 30)?);
        svc.transition(&officer, id, A::StartScreening, None)
            .await?;
        match plan.target {
            Target::Returned => {
                self.clock(at(d, 5, 11, 0)?);
                let comment = "공급망 보안(supply_chain) 자체평가의 근거자료가 누락되었습니다. 이용 예정 SaaS 공급사의 보안점검 결과와 데이터 비보유 계약서를 첨부하여 재제출 바랍니다. \
                               / Evidence for the supply-chain self-assessment is missing: attach the SaaS vendor security review and the zero-retention contract, then resubmit.";
                svc.transition(&officer, id, A::ReturnForCorrection, Some(comment))
                    .await?;
                return Ok(());
            }
            Target::Withdrawn => {
                self.clock(at(d, 6, 15, 20)?);
                let note = "차세대 시스템 전환 일정과 겹쳐 내년 상반기에 재신청할 예정입니다. / Withdrawn: clashes with our core-system migration; we will reapply next year.";
                svc.transition(&who.ciso, id, A::Withdraw, Some(note))
                    .await?;
                return Ok(());
            }
            _ => {}
        }
        let need = policy.evaluation.reviewers_per_application as usize;
        let assigned_now = match plan.target {
            Target::Screening(n) => n.min(need),
            _ => need,
        };
        let mut panel = self.take_advisors(assigned_now);
        self.clock(at(d, 4, 10, 15)?);
        for a in &panel {
            svc.assign_reviewer(&officer, id, a.user_id).await?;
        }
        if matches!(plan.target, Target::Screening(_)) {
            return Ok(());
        }
        self.clock(at(d, 5, 9, 0)?);
        svc.transition(&officer, id, A::StartReview, None).await?;

        if plan.conflict {
            if let Some(conflicted) = panel.first().cloned() {
                self.clock(at(d, 6, 9, 40)?);
                let note = "최근 2년 내 해당 기관의 정보보호 자문 용역을 수행하여 이해충돌이 있습니다. / I advised this institution on security in the past two years.";
                svc.declare_conflict(&conflicted, id, true, Some(note))
                    .await?;
                let Some(replacement) = self.replacement(&panel) else {
                    return Err(ServiceError::rule(
                        "demo_data",
                        "no advisor left to replace a conflicted reviewer",
                    ));
                };
                self.clock(at(d, 6, 14, 0)?);
                svc.assign_reviewer(&officer, id, replacement.user_id)
                    .await?;
                panel.remove(0);
                panel.push(replacement);
            }
        }

        let sheets = score_sheets(&mut self.rng, policy, plan.profile, panel.len())?;
        let expected = aggregate(policy, &sheets)?;
        let submitted = match plan.target {
            Target::UnderReview(n) => n.min(panel.len()),
            _ => panel.len(),
        };
        for (r, (advisor, sheet)) in panel.iter().zip(&sheets).enumerate() {
            let r64 = u64::try_from(r).unwrap_or(0);
            // In an open review, the reviewers after the submitted ones have either declared and
            // saved a draft (the first of them) or not declared yet.
            if r > submitted {
                continue;
            }
            self.clock(at(d, 6 + r64, 10 + u32::try_from(r).unwrap_or(0), 5)?);
            svc.declare_conflict(advisor, id, false, None).await?;
            let scores = score_inputs(policy, sheet);
            if r == submitted {
                let partial: Vec<ScoreInput> = scores
                    .into_iter()
                    .take(policy.evaluation.criteria.len() / 2)
                    .collect();
                self.clock(at(d, 7 + r64, 17, 30)?);
                svc.save_scores(advisor, id, &partial, false).await?;
                continue;
            }
            self.clock(at(d, 8 + r64, 16, 45)?);
            svc.save_scores(advisor, id, &scores, true).await?;
        }
        if matches!(plan.target, Target::UnderReview(_)) {
            return Ok(());
        }
        self.clock(at(d, 11, 10, 0)?);
        svc.transition(&officer, id, A::CompleteEvaluation, None)
            .await?;
        if plan.target == Target::Evaluated {
            return Ok(());
        }
        let sec = rubric_mean(&expected, Rubric::Security);
        let ai = rubric_mean(&expected, Rubric::Ai);
        self.clock(at(d, 12, 15, 0)?);
        if plan.profile.passes() {
            let rationale = format!(
                "전문가 평가 통과(보안관리 역량 평균 {sec:.2}, AI 활용 역량 평균 {ai:.2}). 제출한 내부통제 방안의 이행과 분기별 결과 보고를 조건으로 비조치의견서 발급 대상으로 승인합니다. \
                 / Evaluation passed (security {sec:.2}, AI {ai:.2}); approved subject to the internal-control measures and quarterly reporting."
            );
            svc.transition(&officer, id, A::Approve, Some(&rationale))
                .await?;
        } else {
            let weakest = expected
                .criteria
                .iter()
                .min_by(|a, b| a.mean.total_cmp(&b.mean))
                .map(|c| format!("{} {:.2}", c.label_ko, c.mean))
                .unwrap_or_default();
            let rationale = format!(
                "전문가 평가 기준 미달(보안관리 역량 평균 {sec:.2}, AI 활용 역량 평균 {ai:.2}; 최저 영역 {weakest}). 보완 후 다음 차수에 재신청할 수 있습니다. \
                 / Evaluation failed (security {sec:.2}, AI {ai:.2}); the institution may reapply in a later phase after remediation."
            );
            svc.transition(&officer, id, A::Reject, Some(&rationale))
                .await?;
        }
        Ok(())
    }
}

/// Writes the whole history; returns the demo accounts with their tokens.
async fn write_history(svc: &Service, system: &Actor) -> Result<Vec<DemoAccount>> {
    let policy = svc.policy();
    // The history is dated for the default policy's phases (phase 1 in June, phase 2 in August).
    let phase_id = |n: usize| {
        policy.phases.get(n).map(|p| p.id.clone()).ok_or_else(|| {
            ServiceError::rule(
                "demo_data",
                "the demo needs a policy with at least two phases",
            )
        })
    };

    // 1. The registry, as the supervisor's year-end figures.
    svc.set_clock(Some(at(date((2026, 5, 20))?, 0, 9, 0)?));
    let rows = institution_rows()?;
    svc.import_institutions_csv(system, &csv_text(&rows)?)
        .await?;
    let (institutions, _) = svc
        .list_institutions(
            system,
            &InstitutionFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let id_of = |code: &str| {
        institutions
            .iter()
            .find(|i| i.input.code == code)
            .map(|i| i.id)
            .ok_or(ServiceError::NotFound)
    };

    // 2. Screening on the day the policy took effect.
    svc.set_clock(Some(at(policy.program.effective_from, 0, 10, 0)?));
    svc.screen(system, None).await?;

    // 3. Accounts.
    svc.set_clock(Some(at(date((2026, 5, 21))?, 0, 9, 0)?));
    let mut accounts = Vec::new();
    let mut users = Vec::new();
    for a in &REGULATOR_ACCOUNTS {
        let u = svc
            .create_user(system, a.username, a.display_name, a.role, None)
            .await?;
        users.push(u);
    }
    for (code, stem) in DEMO_INSTITUTIONS {
        let row = rows
            .iter()
            .find(|r| r.input.code == code)
            .ok_or(ServiceError::NotFound)?;
        let inst = id_of(code)?;
        let ciso_name = row.input.ciso_name.clone().unwrap_or_else(|| "CISO".into());
        let ciso = svc
            .create_user(
                system,
                &format!("ciso.{stem}"),
                &format!("{ciso_name} ({} CISO)", row.input.name_ko),
                Role::Ciso,
                Some(inst),
            )
            .await?;
        let mut rng = Prng(inst.unsigned_abs() ^ 0x5354_4146_4600);
        let staff = svc
            .create_user(
                system,
                &format!("staff.{stem}"),
                &format!("{} ({} 정보보호부)", person(&mut rng), row.input.name_ko),
                Role::SecurityStaff,
                Some(inst),
            )
            .await?;
        users.push(ciso);
        users.push(staff);
    }
    for u in &users {
        svc.set_password(system, u.id, DEMO_PASSWORD).await?;
        let token = svc.issue_token(system, u.id, "demo").await?;
        let institution = u
            .institution_id
            .and_then(|id| institutions.iter().find(|i| i.id == id))
            .map(|i| i.input.name_ko.clone());
        accounts.push(DemoAccount {
            username: u.username.clone(),
            role: u.role.as_str().to_string(),
            institution,
            token: Some(token),
            password: DEMO_PASSWORD.to_string(),
        });
    }
    let find = |name: &str| {
        users
            .iter()
            .find(|u| u.username == name)
            .map(haechi_store::User::actor)
            .ok_or(ServiceError::NotFound)
    };
    let officer = find("officer")?;
    let advisors: Vec<Actor> = users
        .iter()
        .filter(|u| u.role == Role::Advisor)
        .map(haechi_store::User::actor)
        .collect();

    // The applicants: the eligible institutions, sectors interleaved so every phase mixes them.
    let mut eligible_rows: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::Eligible | Kind::ExactlyTenTrillion))
        .collect();
    eligible_rows.sort_by_key(|r| {
        (
            r.sector_index,
            Sector::ALL.iter().position(|s| *s == r.input.sector),
        )
    });
    let saebom = DEMO_INSTITUTIONS[1].0;
    let (returned_row, queue): (Vec<&Row>, Vec<&Row>) = eligible_rows
        .into_iter()
        .partition(|r| r.input.code == saebom);

    let mut ctx = Ctx {
        svc,
        policy: &policy,
        officer: officer.clone(),
        advisors,
        next_advisor: 0,
        rng: Prng(0x4845_5649_4557_0002),
    };
    let mut applicants: Vec<Applicant> = Vec::new();
    for row in returned_row.iter().chain(queue.iter()) {
        let inst = id_of(&row.input.code)?;
        let demo_stem = DEMO_INSTITUTIONS
            .iter()
            .find(|(c, _)| *c == row.input.code)
            .map(|(_, s)| *s);
        let (ciso, staff) = match demo_stem {
            Some(stem) => (
                find(&format!("ciso.{stem}"))?,
                Some(find(&format!("staff.{stem}"))?),
            ),
            None => {
                // Every other applicant's CISO has an account too (without a demo login).
                svc.set_clock(Some(at(date((2026, 5, 21))?, 0, 9, 30)?));
                let name = row.input.ciso_name.clone().unwrap_or_else(|| "CISO".into());
                let u = svc
                    .create_user(
                        system,
                        &format!("ciso.{}", row.input.code.to_ascii_lowercase()),
                        &format!("{name} ({} CISO)", row.input.name_ko),
                        Role::Ciso,
                        Some(inst),
                    )
                    .await?;
                (u.actor(), None)
            }
        };
        applicants.push(Applicant {
            name_ko: row.input.name_ko.clone(),
            ciso,
            staff,
        });
    }
    // applicants[0] is the demo institution whose application is returned in Q4; the queue follows.
    let mut next = 1usize;
    let mut take = || {
        let i = next;
        next += 1;
        i
    };

    // 4. Phase 1: ten approved in mid-June, two failing the evaluation. The applications open
    // with the phase (1 June), after the screening of 22 May, so every review is assigned and
    // submitted in June, before the cohort is confirmed on 23 June.
    let p1 = date((2026, 6, 1))?;
    let mut plans = Vec::new();
    for k in 0..12u64 {
        let profile = match k {
            4 => Profile::WeakSecurityArea,
            9 => Profile::WeakAi,
            _ => Profile::Pass,
        };
        plans.push(Plan {
            institution: take(),
            target: Target::Decided,
            profile,
            start: p1 + Days::new(k % 6 + k / 6 * 2),
            conflict: false,
        });
    }
    for plan in &plans {
        ctx.run(
            applicants
                .get(plan.institution)
                .ok_or(ServiceError::NotFound)?,
            plan,
        )
        .await?;
    }
    let officer_actor = officer.clone();
    svc.set_clock(Some(at(date((2026, 6, 23))?, 0, 14, 0)?));
    svc.confirm_cohort(&officer_actor, &phase_id(0)?, None)
        .await?;
    issue_phase_letters(svc, &officer_actor, &phase_id(0)?).await?;

    // Mid-year figures arrive for a few institutions: history, and a re-screening.
    svc.set_clock(Some(at(date((2026, 7, 20))?, 0, 11, 0)?));
    update_figures(svc, system, &rows, &id_of).await?;
    svc.screen(system, None).await?;

    // 5. Phase 2: fifteen approved in August; one reviewer declares a conflict.
    let p2 = date((2026, 7, 27))?;
    let mut plans = Vec::new();
    for k in 0..15u64 {
        plans.push(Plan {
            institution: take(),
            target: Target::Decided,
            profile: Profile::Pass,
            start: p2 + Days::new(k % 8 + k / 8 * 3),
            conflict: k == 2,
        });
    }
    for plan in &plans {
        ctx.run(
            applicants
                .get(plan.institution)
                .ok_or(ServiceError::NotFound)?,
            plan,
        )
        .await?;
    }
    svc.set_clock(Some(at(date((2026, 9, 15))?, 0, 14, 0)?));
    svc.confirm_cohort(&officer_actor, &phase_id(1)?, None)
        .await?;
    issue_phase_letters(svc, &officer_actor, &phase_id(1)?).await?;

    // 6. Q4: applications in every state.
    let q4 = date((2026, 10, 5))?;
    let q4_targets: [(Target, Profile); 14] = [
        (Target::Draft, Profile::Pass),
        (Target::Submitted, Profile::Pass),
        (Target::Submitted, Profile::Pass),
        (Target::Screening(0), Profile::Pass),
        (Target::Screening(2), Profile::Pass),
        (Target::UnderReview(0), Profile::Pass),
        (Target::UnderReview(1), Profile::Pass),
        (Target::UnderReview(2), Profile::WeakAi),
        (Target::Evaluated, Profile::PassWithDisagreement),
        (Target::Evaluated, Profile::SecurityMeanLow),
        (Target::Decided, Profile::Pass),
        (Target::Decided, Profile::Pass),
        (Target::Decided, Profile::WeakSecurityArea),
        (Target::Withdrawn, Profile::Pass),
    ];
    let mut plans = vec![Plan {
        institution: 0,
        target: Target::Returned,
        profile: Profile::Pass,
        start: q4,
        conflict: false,
    }];
    for (k, (target, profile)) in q4_targets.into_iter().enumerate() {
        // The further along, the earlier it started.
        let back = u64::try_from(14 - k).unwrap_or(0);
        let start = q4
            + Days::new(match target {
                Target::Draft | Target::Submitted => 40 + u64::try_from(k).unwrap_or(0),
                Target::Screening(_) => 38,
                Target::UnderReview(_) => 30,
                _ => back * 2,
            });
        plans.push(Plan {
            institution: take(),
            target,
            profile,
            start,
            conflict: false,
        });
    }
    for plan in &plans {
        ctx.run(
            applicants
                .get(plan.institution)
                .ok_or(ServiceError::NotFound)?,
            plan,
        )
        .await?;
    }
    letter_history(svc, &officer_actor, &phase_id(0)?).await?;
    svc.set_clock(None);
    svc.run_expiry_reminders().await?;
    svc.run_report_reminders().await?;
    Ok(accounts)
}

/// Mid-year figure updates for a few institutions, so the registry has figure history.
async fn update_figures(
    svc: &Service,
    system: &Actor,
    rows: &[Row],
    id_of: &impl Fn(&str) -> Result<i64>,
) -> Result<()> {
    let mid_year = date(MID_YEAR)?;
    let changes: [(&str, i64, i64, Option<&str>); 5] = [
        // (code, assets change in permille, employees change, new CISO)
        ("BNK-001", 21, -35, None),
        ("SEC-001", 48, 60, None),
        ("INS-002", -12, 14, None),
        ("CRD-001", 9, 0, Some("송보람")),
        ("SAV-001", 30, 22, None),
    ];
    for (code, assets_pm, staff, ciso) in changes {
        let row = rows
            .iter()
            .find(|r| r.input.code == code)
            .ok_or(ServiceError::NotFound)?;
        let mut input = row.input.clone();
        input.total_assets_krw += input.total_assets_krw / 1000 * assets_pm;
        input.assets_as_of = mid_year;
        input.full_time_employees += staff;
        input.employees_as_of = mid_year;
        if let Some(name) = ciso {
            input.ciso_name = Some(name.to_string());
        }
        svc.update_institution(system, id_of(code)?, input).await?;
    }
    Ok(())
}

/// Issues the drafted letters of a confirmed phase on the clock's date (when this node has a
/// signing key; a demo without one keeps them as drafts).
async fn issue_phase_letters(svc: &Service, officer: &Actor, phase: &str) -> Result<()> {
    if !svc.has_signer() {
        return Ok(());
    }
    let mut drafts = svc.list_letters(officer).await?;
    // Numbers follow the order in which the cohort was confirmed.
    drafts.sort_by_key(|l| l.id);
    for l in drafts {
        if l.state == "draft" && l.phase_id.as_deref() == Some(phase) {
            svc.issue_letter(officer, l.id).await?;
        }
    }
    Ok(())
}

/// Letter history after the phases: one revocation, and the first quarterly reports of phase 1
/// submitted and accepted, except two left overdue (compliance flags) and one returned.
async fn letter_history(svc: &Service, officer: &Actor, phase1: &str) -> Result<()> {
    if !svc.has_signer() {
        return Ok(());
    }
    let letters: Vec<_> = svc
        .list_letters(officer)
        .await?
        .into_iter()
        .filter(|l| l.phase_id.as_deref() == Some(phase1) && l.state == "issued")
        .collect();
    let mut ids: Vec<i64> = letters.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    let obligations = svc.obligations(officer, None).await?;
    for (k, letter_id) in ids.iter().enumerate() {
        let Some(first) = obligations.iter().find(|o| {
            o.row.letter_id == *letter_id && o.row.kind == "quarterly_report" && o.row.sequence == 1
        }) else {
            continue;
        };
        let ciso = ciso_of(svc, first.row.institution_id).await?;
        svc.set_clock(Some(at(date((2026, 10, 15))?, 0, 10, 0)?));
        match k {
            // Two institutions have not reported: overdue.
            0 | 1 => continue,
            2 => {
                svc.submit_obligation(&ciso, first.row.id, Some("3분기 AI 취약점 점검 결과 보고"))
                    .await?;
                svc.set_clock(Some(at(date((2026, 10, 28))?, 0, 15, 0)?));
                svc.decide_obligation(
                    officer,
                    first.row.id,
                    false,
                    Some("공격적 활용 시 위험 항목이 누락되어 보완 요청"),
                )
                .await?;
            }
            _ => {
                svc.submit_obligation(&ciso, first.row.id, Some("3분기 AI 취약점 점검 결과 보고"))
                    .await?;
                svc.set_clock(Some(at(date((2026, 10, 28))?, 0, 15, 0)?));
                svc.decide_obligation(officer, first.row.id, true, None)
                    .await?;
            }
        }
    }
    if let Some(last) = ids.last() {
        svc.set_clock(Some(at(date((2026, 11, 10))?, 0, 16, 0)?));
        svc.revoke_letter(
            officer,
            *last,
            "승인 범위를 벗어난 고객 개인정보(S등급)의 외부 SaaS 전송 확인 / customer personal data sent to a SaaS outside the permitted scope",
        )
        .await?;
    }
    Ok(())
}

/// An actor for the CISO of an institution (the demo creates one per applicant).
async fn ciso_of(svc: &Service, institution_id: i64) -> Result<Actor> {
    let users = haechi_store::list_users(svc.store().pool(), Some(Role::Ciso)).await?;
    let u = users
        .into_iter()
        .find(|u| u.institution_id == Some(institution_id))
        .ok_or(ServiceError::NotFound)?;
    Ok(Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        institution_id: u.institution_id,
    })
}
