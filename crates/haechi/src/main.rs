//! `haechi`: the one binary. Parses the command line, loads the configuration, picks the
//! database backend once from its URL, and runs the server, the demo or a batch command.

mod audit_cli;
mod backup;
mod config;
mod feeds_cli;
mod findings_cli;
mod insight_cli;
mod serve_bench;
mod sharing_cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use haechi_core::{Actor, Role};
use haechi_service::{Service, ServiceConfig, ServiceError};
use haechi_store::Store;

use crate::config::{Config, Overrides, DEFAULT_CONFIG};

#[derive(Parser)]
#[command(
    name = "haechi",
    version,
    about = "Runs the FSC AI-security network-separation relief program and the institutions' vulnerability engine."
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "HAECHI_CONFIG")]
    config: Option<PathBuf>,
    /// sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "HAECHI_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Data directory (SQLite file, keys).
    #[arg(long, global = true, env = "HAECHI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// "human" or "json".
    #[arg(long, global = true, env = "HAECHI_LOG_FORMAT")]
    log_format: Option<String>,
    #[arg(long, global = true, env = "HAECHI_MAX_ATTACHMENT_BYTES", hide = true)]
    max_attachment_bytes: Option<usize>,
    #[arg(long, global = true, env = "HAECHI_MAX_IMPORT_BYTES", hide = true)]
    max_import_bytes: Option<usize>,
    /// Seconds without a heartbeat after which a findings import's node counts as dead.
    #[arg(long, global = true, env = "HAECHI_IMPORT_LEASE_SECONDS", hide = true)]
    import_lease_seconds: Option<u64>,
    /// The regulator's letter-signing key (PKCS#8 PEM; created when missing).
    #[arg(long, global = true, env = "HAECHI_LETTER_KEY_FILE")]
    letter_key_file: Option<PathBuf>,
    /// SMTP relay for notification e-mail (smtp://host:port).
    #[arg(long, global = true, env = "HAECHI_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender address of notification e-mail.
    #[arg(long, global = true, env = "HAECHI_SMTP_FROM")]
    smtp_from: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// `haechi bench …`: the findings intake's and prioritisation's benchmarks.
#[derive(Subcommand)]
enum BenchCommand {
    #[command(flatten)]
    Findings(findings_cli::BenchCommand),
    #[command(flatten)]
    Feeds(feeds_cli::PrioritiseBench),
    #[command(flatten)]
    Audit(audit_cli::AuditBench),
    #[command(flatten)]
    Insight(insight_cli::InsightBench),
    #[command(flatten)]
    Taxii(sharing_cli::TaxiiBench),
    #[command(flatten)]
    Serve(serve_bench::ServeBench),
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API.
    Serve {
        /// HOST:PORT to listen on.
        #[arg(long, env = "HAECHI_BIND")]
        bind: Option<String>,
    },
    /// Start a demo instance on 127.0.0.1 with fictional data (created once, then reused).
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Run the database migrations and exit.
    Migrate,
    /// Copy a whole instance into another, empty database (e.g. SQLite → PostgreSQL).
    MigrateDb {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Write a consistent snapshot of a running SQLite instance to FILE and check it (audit
    /// chain, letter signatures); for PostgreSQL, print how to use pg_dump.
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a snapshot made by `haechi backup` into an empty data directory, after checking
    /// its integrity, audit chain and letter signatures.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Print the documented default configuration.
    PrintDefaultConfig,
    /// Print the OpenAPI document of the API.
    Openapi,
    /// Program policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Institution registry.
    Institutions {
        #[command(subcommand)]
        command: InstitutionsCommand,
    },
    /// Eligibility screening.
    Eligibility {
        #[command(subcommand)]
        command: EligibilityCommand,
    },
    /// Audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// No-action letters.
    Letter {
        #[command(subcommand)]
        command: LetterCommand,
    },
    /// Security findings (SARIF 2.1.0 intake).
    Findings {
        #[command(subcommand)]
        command: findings_cli::FindingsCommand,
    },
    /// Computing resources of an institution.
    Resources {
        #[command(subcommand)]
        command: findings_cli::ResourcesCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Threat feeds (EPSS, CISA KEV, CVE JSON 5) for patch prioritisation.
    Feeds {
        #[command(subcommand)]
        command: feeds_cli::FeedsCommand,
    },
    /// Score CVSS v3.0, v3.1 or v4.0 vectors; prints one JSON object per vector.
    Cvss {
        #[arg(required = true)]
        vectors: Vec<String>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; names the field and line of every problem.
    Check { file: PathBuf },
    /// Validate and store a policy file as a new version.
    Load { file: PathBuf },
    /// Print the policy in force (or a stored version) as TOML.
    Show {
        #[arg(long)]
        version: Option<i64>,
    },
    /// Print the embedded default policy.
    Default,
}

#[derive(Subcommand)]
enum InstitutionsCommand {
    /// Import a registry CSV: all rows or none.
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Export the registry as CSV to stdout.
    Export,
}

#[derive(Subcommand)]
enum EligibilityCommand {
    /// Screen every institution (or one) under the policy in force and store the decisions.
    Screen {
        #[arg(long)]
        institution: Option<i64>,
        /// One JSON object per institution, one per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum LetterCommand {
    /// Verify a signed letter file. Exits 0 only when it is genuine and in force.
    ///
    /// With --public-key the check is offline (signature and validity dates only); otherwise the
    /// configured instance's published keys and revocations are consulted.
    Verify {
        file: PathBuf,
        /// PEM file with one or more public keys (e.g. from /.well-known/haechi-letter-keys.pem).
        #[arg(long)]
        public_key: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the signed file of an issued letter to stdout.
    Export { number: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit hash chain from its newest checkpoint (every entry with --full); exits
    /// non-zero naming the first bad entry; when intact, writes a checkpoint for the next check.
    Verify {
        /// Walk every entry from the first, not only those after the newest checkpoint.
        #[arg(long)]
        full: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user and print an API token for it.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Institution code (for ciso and security_staff).
        #[arg(long)]
        institution: Option<String>,
        /// Read the web-portal password from the first line of standard input; without it a
        /// random password is generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        bind: match &cli.command {
            Command::Serve { bind } => bind.clone(),
            Command::Demo { port } => Some(format!("127.0.0.1:{port}")),
            _ => None,
        },
        log_format: cli.log_format.clone(),
        max_attachment_bytes: cli.max_attachment_bytes,
        max_import_bytes: cli.max_import_bytes,
        import_lease_seconds: cli.import_lease_seconds,
        letter_key_file: cli.letter_key_file.clone(),
        smtp_url: cli.smtp_url.clone(),
        smtp_from: cli.smtp_from.clone(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, overrides)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if cfg.json_logs {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn open_store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("connecting to {}", haechi_store::redact_url(url)))?;
    store.migrate().await.context("running migrations")?;
    Ok(store)
}

async fn open_service(cfg: &Config) -> anyhow::Result<Service> {
    if cfg.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating data directory {}", cfg.data_dir.display()))?;
    }
    let store = open_store(&cfg.database_url).await?;
    let svc = Service::open(
        store,
        ServiceConfig {
            max_attachment_bytes: cfg.max_attachment_bytes,
            max_import_bytes: cfg.max_import_bytes,
            accounts: cfg.accounts.clone(),
            import_lease: std::time::Duration::from_secs(cfg.import_lease_seconds),
        },
    )
    .await
    .map_err(service_error)?;
    Ok(svc)
}

/// A random initial password (shown once), 20 characters from an unambiguous alphabet.
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn service_error(e: ServiceError) -> anyhow::Error {
    let fields: Vec<String> = e.field_errors().iter().map(ToString::to_string).collect();
    if fields.is_empty() {
        anyhow::anyhow!("{e} [{}]", e.code())
    } else {
        anyhow::anyhow!("{} [{}]:\n  {}", e, e.code(), fields.join("\n  "))
    }
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

async fn run(command: Command, overrides: Overrides) -> anyhow::Result<ExitCode> {
    // Commands that need no configuration or database.
    match &command {
        Command::PrintDefaultConfig => {
            print!("{DEFAULT_CONFIG}");
            return Ok(ExitCode::SUCCESS);
        }
        Command::Openapi => {
            print!("{}", haechi_web::openapi::document_text());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => return policy_check(file),
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            print!("{}", haechi_policy::DEFAULT_POLICY_TOML);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Cvss { vectors } => return cvss(vectors),
        Command::Restore { from, data_dir } => return backup::restore(from, data_dir).await,
        Command::Letter {
            command:
                LetterCommand::Verify {
                    file,
                    public_key: Some(key),
                    json,
                },
        } => return letter_verify_offline(file, key, *json),
        _ => {}
    }
    let cfg = Config::load(&overrides)?;
    init_logs(&cfg);
    let system = Actor::system();
    match command {
        Command::Serve { .. } => serve(&cfg, false).await,
        Command::Demo { .. } => serve(&cfg, true).await,
        Command::Backup { to } => backup::backup(&cfg.database_url, &to).await,
        Command::Migrate => {
            let store = Store::connect(&cfg.database_url).await?;
            let applied = store.migrate().await?;
            println!(
                "migrations applied: {applied:?} ({})",
                cfg.database_url_redacted()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::MigrateDb { from, to } => {
            let source = open_store(&from).await?;
            let target = open_store(&to).await?;
            let report = source.copy_into(&target).await.context("copying")?;
            for (table, rows) in &report.tables {
                println!("{table}: {rows} rows");
            }
            let check = target.verify_audit().await?;
            println!(
                "audit chain on the target: {}",
                if check.intact { "intact" } else { "BROKEN" }
            );
            let same = backup::compare_copy(&source, &target).await?;
            Ok(if check.intact && same {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Policy { command } => {
            let svc = open_service(&cfg).await?;
            match command {
                PolicyCommand::Load { file } => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let v = svc
                        .load_policy(&system, &text)
                        .await
                        .map_err(service_error)?;
                    println!("policy stored as version {v}");
                }
                PolicyCommand::Show { version } => {
                    let v = version.unwrap_or(svc.policy().version);
                    let (_, text) = svc
                        .policy_version(&system, v)
                        .await
                        .map_err(service_error)?;
                    print!("{text}");
                }
                PolicyCommand::Check { .. } | PolicyCommand::Default => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Institutions { command } => {
            let svc = open_service(&cfg).await?;
            match command {
                InstitutionsCommand::Import { file, json } => {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    match svc.import_institutions_csv(&system, &bytes).await {
                        Ok(r) if json => print_json(&r)?,
                        Ok(r) => println!(
                            "{} rows: {} created, {} updated, {} unchanged",
                            r.rows, r.created, r.updated, r.unchanged
                        ),
                        Err(e) => {
                            eprintln!("import failed, nothing was stored: {}", service_error(e));
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                }
                InstitutionsCommand::Export => print!(
                    "{}",
                    svc.export_institutions_csv(&system)
                        .await
                        .map_err(service_error)?
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eligibility {
            command: EligibilityCommand::Screen { institution, json },
        } => {
            let svc = open_service(&cfg).await?;
            let results = svc
                .screen(&system, institution)
                .await
                .map_err(service_error)?;
            if json {
                for r in &results {
                    print_json(r)?;
                }
            } else {
                for r in &results {
                    let failed: Vec<&str> = r
                        .rules
                        .iter()
                        .filter(|x| !x.passed)
                        .map(|x| x.rule.as_str())
                        .collect();
                    println!(
                        "{:>5}  {:<8} {}  {}",
                        r.institution_id,
                        if r.eligible { "eligible" } else { "-" },
                        r.name,
                        failed.join(",")
                    );
                }
                let n = results.iter().filter(|r| r.eligible).count();
                println!(
                    "{n} of {} eligible (policy version {})",
                    results.len(),
                    svc.policy().version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify { full },
        } => {
            let svc = open_service(&cfg).await?;
            audit_cli::verify(&svc, full).await
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    username,
                    role,
                    display_name,
                    institution,
                    password_stdin,
                },
        } => {
            let svc = open_service(&cfg).await?;
            let Some(role) = Role::parse(&role) else {
                bail!(
                    "unknown role '{role}'; one of: {}",
                    Role::ALL.map(|r| r.as_str()).join(", ")
                );
            };
            let inst_id = match institution {
                Some(code) => Some(
                    haechi_store::get_institution_by_code(svc.store().pool(), &code)
                        .await?
                        .with_context(|| format!("no institution with code '{code}'"))?
                        .id,
                ),
                None => None,
            };
            let user = svc
                .create_user(
                    &system,
                    &username,
                    display_name.as_deref().unwrap_or(&username),
                    role,
                    inst_id,
                )
                .await
                .map_err(service_error)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (random_password(), true)
            };
            svc.set_password(&system, user.id, &password)
                .await
                .map_err(service_error)?;
            let token = svc
                .issue_token(&system, user.id, "created by haechi admin create-user")
                .await
                .map_err(service_error)?;
            println!(
                "user {} ({}) created; API token (shown once): {token}",
                user.username, user.role
            );
            if generated {
                println!("initial password (shown once; change it at /account): {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Letter { command } => {
            let svc = open_service(&cfg).await?;
            match command {
                LetterCommand::Verify { file, json, .. } => {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let check = svc
                        .verify_letter_file(&bytes)
                        .await
                        .map_err(service_error)?;
                    print_check(&check, json)
                }
                LetterCommand::Export { number } => {
                    let row = haechi_store::get_letter_by_number(svc.store().pool(), &number)
                        .await?
                        .with_context(|| format!("no letter numbered '{number}'"))?;
                    let (_, _, file) = svc
                        .signed_letter(&system, row.id)
                        .await
                        .map_err(service_error)?;
                    print!("{file}");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::Findings { command } => findings_cli::findings(&cfg, command).await,
        Command::Resources { command } => findings_cli::resources(&cfg, command).await,
        Command::Feeds { command } => feeds_cli::feeds(&cfg, command).await,
        Command::Bench {
            command: BenchCommand::Feeds(command),
        } => feeds_cli::bench(command, overrides.database_url.as_deref()).await,
        Command::Bench {
            command: BenchCommand::Findings(command),
        } => findings_cli::bench(command, overrides.database_url.as_deref()).await,
        Command::Bench {
            command: BenchCommand::Audit(command),
        } => audit_cli::bench(command, overrides.database_url.as_deref()).await,
        Command::Bench {
            command: BenchCommand::Taxii(command),
        } => sharing_cli::bench(command, overrides.database_url.as_deref()).await,
        Command::Bench {
            command: BenchCommand::Insight(command),
        } => insight_cli::bench(command, overrides.database_url.as_deref()).await,
        Command::Bench {
            command: BenchCommand::Serve(command),
        } => serve_bench::bench(command).await,
        Command::PrintDefaultConfig
        | Command::Openapi
        | Command::Cvss { .. }
        | Command::Restore { .. } => Ok(ExitCode::SUCCESS),
    }
}

fn policy_check(file: &PathBuf) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    match haechi_policy::Policy::from_toml_str(&text) {
        Ok(p) => {
            println!(
                "{}: valid ({} eligibility rules, {} phases, {} criteria, {} priority rows)",
                file.display(),
                p.eligibility.rules.len(),
                p.phases.len(),
                p.evaluation.criteria.len(),
                p.priority.rows.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            for e in &errs.0 {
                eprintln!(
                    "{}:{}:{}: {}: {}",
                    file.display(),
                    e.line,
                    e.column,
                    e.path,
                    e.message
                );
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_check(
    check: &haechi_service::letters::LetterCheck,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        print_json(check)?;
    } else if check.is_valid() {
        println!(
            "valid: {} — holder {} / {} — valid {} to {} — key {}",
            check.letter_number.as_deref().unwrap_or("?"),
            check.holder_ko.as_deref().unwrap_or("?"),
            check.holder_en.as_deref().unwrap_or("?"),
            check.valid_from.map(|d| d.to_string()).unwrap_or_default(),
            check.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            check.key_id.as_deref().unwrap_or("?"),
        );
    } else {
        eprintln!("{}: {}", check.outcome.to_uppercase(), check.reason);
    }
    Ok(if check.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn letter_verify_offline(file: &PathBuf, key: &PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let pem = std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let ring = haechi_letter::KeyRing::from_pem_bundle(&pem)
        .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
    let mut check =
        haechi_service::letters::check_letter(&bytes, &ring, chrono::Utc::now().date_naive(), None);
    if check.is_valid() {
        check.reason.push_str(" (offline: revocation not checked)");
    }
    print_check(&check, json)
}

/// Loads the letter-signing key, creating it with owner-only permissions when missing.
fn load_or_create_key(path: &std::path::Path) -> anyhow::Result<haechi_letter::Keypair> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading letter key {}", path.display()))?;
        return haechi_letter::Keypair::from_pkcs8_pem(&pem)
            .map_err(|e| anyhow::anyhow!("letter key {}: {e}", path.display()));
    }
    let key = haechi_letter::Keypair::generate();
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| anyhow::anyhow!("encoding the new letter key: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options
        .open(path)
        .with_context(|| format!("creating letter key {}", path.display()))?;
    f.write_all(pem.as_bytes())?;
    tracing::info!(path = %path.display(), key_id = %key.key_id(), "generated a new letter-signing key");
    Ok(key)
}

fn cvss(vectors: &[String]) -> anyhow::Result<ExitCode> {
    let mut code = ExitCode::SUCCESS;
    for v in vectors {
        match haechi_cvss::evaluate(v) {
            Ok(e) => print_json(
                &serde_json::json!({"vector": e.vector, "version": e.version, "base_score": e.base_score, "severity": e.severity}),
            )?,
            Err(e) => {
                eprintln!("{v}: {e} [{}]", e.code());
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

async fn serve(cfg: &Config, demo: bool) -> anyhow::Result<ExitCode> {
    let key = load_or_create_key(&cfg.letter_key_file)?;
    let mut svc = open_service(cfg)
        .await?
        .with_signer(key)
        .await
        .map_err(service_error)?;
    if let Some(url) = &cfg.smtp_url {
        let mailer = haechi_service::mail::SmtpMailer::new(url, &cfg.smtp_from)
            .map_err(|e| anyhow::anyhow!("SMTP configuration: {e}"))?;
        svc = svc.with_mailer(std::sync::Arc::new(mailer));
    }
    if demo {
        let summary = haechi_service::demo::seed(&svc)
            .await
            .map_err(service_error)?;
        println!(
            "Haechi demo: {} institutions, {} eligible; cohorts {:?}",
            summary.institutions, summary.eligible, summary.cohorts
        );
        println!(
            "Demo accounts — sign in at http://{}/login with the password '{}' (API: Authorization: Bearer <token>):",
            cfg.bind,
            haechi_service::demo::DEMO_PASSWORD
        );
        for a in &summary.accounts {
            println!(
                "  {:<18} {:<18} {:<24} {}",
                a.username,
                a.role,
                a.institution.clone().unwrap_or_default(),
                a.token.as_deref().unwrap_or("-")
            );
        }
    } else if haechi_store::list_users(svc.store().pool(), None)
        .await?
        .is_empty()
    {
        let admin = svc
            .create_user(
                &Actor::system(),
                "admin",
                "Administrator",
                Role::RegulatorAdmin,
                None,
            )
            .await
            .map_err(service_error)?;
        let token = svc
            .issue_token(&Actor::system(), admin.id, "bootstrap")
            .await
            .map_err(service_error)?;
        let password = random_password();
        svc.set_password(&Actor::system(), admin.id, &password)
            .await
            .map_err(service_error)?;
        println!("No users existed: created 'admin' with the password {password} (change it at /account). Its API token (shown once): {token}");
    }
    // Uploads a killed server was spooling when it died.
    match haechi_web::spool::remove_orphans(&std::env::temp_dir()) {
        Ok(gone) if !gone.is_empty() => {
            tracing::info!(
                files = gone.len(),
                "removed uploads left by a server that died"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not look for uploads left by a dead server"),
    }
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| format!("binding {}", cfg.bind))?;
    tracing::info!(address = %cfg.bind, database = %cfg.database_url_redacted(), "Haechi listening");
    println!("Listening on http://{}", cfg.bind);
    // Hourly jobs, also at start: letter expiry and report due-date reminders (each written once)
    // and expired risk acceptances.
    let reminders = svc.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match reminders.run_expiry_reminders().await {
                Ok(n) if n > 0 => tracing::info!(written = n, "letter expiry reminders"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "letter expiry reminders failed"),
            }
            // Reports still owed, reminded on the policy's offsets before their due date.
            match reminders.run_report_reminders().await {
                Ok(n) if n > 0 => tracing::info!(written = n, "report due-date reminders"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "report due-date reminders failed"),
            }
            // Risk acceptances whose expiry has passed reopen their findings.
            if let Err(e) = reminders.reopen_expired_acceptances().await {
                tracing::warn!(error = %e, "reopening expired risk acceptances failed");
            }
            // An audit checkpoint, so the audit page's check walks at most an hour of entries.
            match reminders.checkpoint_audit(&Actor::system(), false).await {
                Ok((v, _)) if !v.intact => {
                    tracing::error!(first_bad = ?v.first_bad, "audit hash chain BROKEN")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit checkpoint failed"),
            }
        }
    });
    let state = haechi_web::AppState::new(svc);
    // The demo runs over plain HTTP on loopback, where a `Secure` cookie would not be sent.
    let state = if demo {
        state.insecure_cookies()
    } else {
        state
    };
    let app =
        haechi_web::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
