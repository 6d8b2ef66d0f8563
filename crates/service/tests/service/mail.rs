//! Notification e-mail over real SMTP on loopback: a minimal SMTP sink records what the
//! `SmtpMailer` delivers when a letter is issued and revoked; a relay that is down does not fail
//! the use case.

use std::sync::{Arc, Mutex};

use haechi_core::Actor;
use haechi_service::mail::SmtpMailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::open;

/// Accepts SMTP sessions on 127.0.0.1 and stores each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(std::mem::take(buf));
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn letters_are_mailed_to_the_holder() {
    let (port, messages) = smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let (_store, svc) = open(&format!("sqlite://{}/mail.db", dir.path().display())).await;
    haechi_service::demo::seed(&svc).await.unwrap();
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Haechi <haechi@fsc.example>",
    )
    .unwrap();
    let svc = svc.with_mailer(Arc::new(mailer));
    let system = Actor::system();
    let letters = svc.list_letters(&system).await.unwrap();
    let issued = letters.iter().find(|l| l.state == "issued").unwrap();
    // Renewal opens within the policy's window before the letter ends.
    let until =
        chrono::NaiveDate::parse_from_str(issued.valid_until.as_deref().unwrap(), "%Y-%m-%d")
            .unwrap();
    svc.set_clock(Some(
        (until - chrono::Duration::days(30))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    let renewal = svc.renew_letter(&system, issued.id).await.unwrap();
    let renewed = svc.issue_letter(&system, renewal.id).await.unwrap();
    svc.revoke_letter(&system, renewed.id, "test revocation reason")
        .await
        .unwrap();

    let inst = svc
        .get_institution(&system, issued.institution_id)
        .await
        .unwrap()
        .institution;
    let to = inst
        .input
        .contact_email
        .clone()
        .expect("demo institutions have a contact e-mail");
    // Bodies arrive base64-encoded (UTF-8 Korean text); decode them for the checks.
    let got: Vec<String> = messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| {
            use base64::Engine;
            let (head, body) = m.split_once("\n\n").unwrap();
            let raw: String = body.split_whitespace().collect();
            let text = String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap(),
            )
            .unwrap();
            format!("{head}\n\n{text}")
        })
        .collect();
    assert_eq!(
        got.len(),
        2,
        "one mail for the issue, one for the revocation: {got:?}"
    );
    let number = renewed.letter_number.clone().unwrap();
    assert!(
        got.iter().all(|m| m.contains(&format!("To: {to}"))),
        "{got:?}"
    );
    assert!(
        got[0].contains(&number) && got[1].contains("test revocation reason"),
        "{got:?}"
    );

    // A relay that is down: the use case still succeeds (the in-app notification is the record).
    let dead = SmtpMailer::new("smtp://127.0.0.1:9", "haechi@fsc.example").unwrap();
    let svc = svc.with_mailer(Arc::new(dead));
    let other = letters
        .iter()
        .filter(|l| l.state == "issued")
        .nth(1)
        .unwrap();
    assert!(svc
        .revoke_letter(&system, other.id, "relay down but revoked")
        .await
        .is_ok());
}

#[test]
fn smtp_urls_are_checked() {
    assert!(SmtpMailer::new("http://x", "a@b.c").is_err());
    assert!(SmtpMailer::new("smtp://relay:x", "a@b.c").is_err());
    assert!(SmtpMailer::new("smtp://relay:2525", "not an address").is_err());
    assert!(SmtpMailer::new("smtp://relay", "a@b.c").is_ok());
}
