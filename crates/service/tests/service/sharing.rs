//! Threat-sharing bulletins on both databases (issue #16): the review by a second person, reach
//! by audience and TLP, an emergency advisory bulletin publishing the advisory record (and its
//! withdrawal withdrawing it), acknowledgements, and the TAXII pages over the published objects
//! (latest versions, keyset cursor, `added_after`).

use haechi_core::{Actor, Role};
use haechi_service::sharing::BulletinInput;
use haechi_store::{StixQuery, VersionMatch};

use crate::patching::{ciso, institution};
use crate::{on_both, open};

fn staff(id: i64, name: &str, role: Role) -> Actor {
    Actor {
        user_id: id,
        username: name.into(),
        role,
        institution_id: None,
    }
}

fn input(kind: &str, tlp: &str, audience: &str) -> BulletinInput {
    BulletinInput {
        kind: kind.into(),
        title_ko: "시험 공지".into(),
        body_ko: "본문".into(),
        severity: "high".into(),
        cves: vec!["CVE-2021-44228".into()],
        indicators: vec!["ipv4 203.0.113.7 C2".into()],
        actions: vec!["패치하십시오.".into()],
        tlp: tlp.into(),
        audience: audience.into(),
        ..BulletinInput::default()
    }
}

async fn sharing_story(url: String) {
    let (store, svc) = open(&url).await;
    let analyst = staff(901, "analyst", Role::Analyst);
    let support = staff(902, "support", Role::SupportCenter);
    let bank = institution(&svc, "BNK-S1").await;
    let other = institution(&svc, "BNK-S2").await;
    // Review by a second person.
    let id = svc
        .create_bulletin(&analyst, &input("emergency_patch_advisory", "green", "all"))
        .await
        .unwrap();
    svc.submit_bulletin(&analyst, id).await.unwrap();
    assert!(svc.publish_bulletin(&analyst, id).await.is_err());
    let row = svc.publish_bulletin(&support, id).await.unwrap();
    assert_eq!((row.state.as_str(), row.version), ("published", 1));
    let advisory = row.advisory_id.expect("the advisory record");
    let a = haechi_store::get_advisory(store.pool(), advisory)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, "published");
    assert_eq!(a.cves, vec!["CVE-2021-44228".to_string()]);
    // An institution of another audience does not see a named bulletin.
    let mut named = input("indicators", "amber", "named");
    named.audience_institutions = vec![other];
    let n = svc.create_bulletin(&support, &named).await.unwrap();
    svc.submit_bulletin(&support, n).await.unwrap();
    svc.publish_bulletin(&analyst, n).await.unwrap();
    assert!(svc.bulletin_view(&ciso(bank), n).await.is_err());
    assert!(svc.bulletin_view(&ciso(other), n).await.is_ok());
    assert_eq!(svc.bulletins(&ciso(bank)).await.unwrap().len(), 1);
    // Acknowledgement.
    svc.acknowledge_bulletin(&ciso(bank), id).await.unwrap();
    let d = svc
        .bulletin_detail(&staff(903, "officer", Role::RegulatorOfficer), id)
        .await
        .unwrap();
    assert_eq!(d.acks.iter().filter(|a| a.ack.is_some()).count(), 1);
    assert_eq!(d.acks.len(), 2);
    // TAXII: the latest versions of the all-institutions collection, a page at a time.
    let collections = svc.taxii_collections(&ciso(bank)).await.unwrap();
    assert_eq!(collections.len(), 1, "{collections:?}");
    let key = collections[0].clone();
    let mut q = StixQuery {
        collection: key.clone(),
        after_seq: 0,
        added_after: None,
        ids: vec![],
        types: vec![],
        versions: VersionMatch::Last,
        spec_versions: vec![],
        limit: 2,
    };
    let mut all = Vec::new();
    loop {
        let mut page = svc.taxii_page(&ciso(bank), &q).await.unwrap();
        let more = page.len() > 2;
        page.truncate(2);
        q.after_seq = page.last().map_or(q.after_seq, |r| r.seq);
        all.extend(page);
        if !more {
            break;
        }
    }
    // report, vulnerability, indicator, course-of-action, two relationships, identity, marking.
    assert_eq!(
        all.len(),
        8,
        "{:?}",
        all.iter().map(|r| &r.object_type).collect::<Vec<_>>()
    );
    assert!(svc
        .taxii_page(
            &ciso(bank),
            &StixQuery {
                collection: format!("institution-{other}/amber"),
                ..q.clone()
            }
        )
        .await
        .is_err());
    // Withdrawal: the advisory record is withdrawn, the objects re-issued revoked.
    svc.withdraw_bulletin(&support, id, "패치 완료")
        .await
        .unwrap();
    let a = haechi_store::get_advisory(store.pool(), advisory)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, "withdrawn");
    let q = StixQuery {
        after_seq: 0,
        added_after: Some(all[0].date_added.clone()),
        limit: 100,
        ..q
    };
    let later = svc.taxii_page(&ciso(bank), &q).await.unwrap();
    assert!(later
        .iter()
        .any(|r| r.object_type == "report" && r.body.contains("\"revoked\":true")));
    assert!(later.iter().all(|r| r.date_added > all[0].date_added));
    store.close().await;
}

#[tokio::test]
async fn bulletins_are_reviewed_reach_their_audience_and_serve_taxii() {
    on_both(sharing_story).await;
}
