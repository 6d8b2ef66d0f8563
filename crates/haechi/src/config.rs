//! Configuration, layered: built-in defaults → TOML file (`--config`) → `HAECHI_*` environment →
//! command-line flags (clap reads the environment into the same flags, so a flag wins over its
//! variable). Validated once; the database password is never printed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::Deserialize;

/// The documented default configuration, printed by `haechi print-default-config`.
pub const DEFAULT_CONFIG: &str = r#"# Haechi configuration. Every key is optional; the values below are the defaults.
# Precedence: this file < HAECHI_* environment variables < command-line flags.

# Where Haechi keeps its SQLite database (when no database_url is given) and its keys.
# Env: HAECHI_DATA_DIR
data_dir = "./haechi-data"

# sqlite://FILE (embedded, single node) or postgres://USER:PASSWORD@HOST/DB (several nodes).
# Default: sqlite://<data_dir>/haechi.db
# Env: HAECHI_DATABASE_URL
# database_url = "postgres://haechi@127.0.0.1/haechi"

# Address `haechi serve` listens on. Env: HAECHI_BIND
bind = "127.0.0.1:8080"

# Log format: "human" or "json". Env: HAECHI_LOG_FORMAT. Filter with RUST_LOG.
log_format = "human"

# Largest evidence attachment accepted, in bytes. Env: HAECHI_MAX_ATTACHMENT_BYTES
max_attachment_bytes = 10485760

# Largest CSV import accepted, in bytes. Env: HAECHI_MAX_IMPORT_BYTES
max_import_bytes = 20971520

# A findings import whose node stopped refreshing its heartbeat for this long is marked failed
# (its node died; the institution uploads the file again). Nodes refresh every quarter of it.
# Env: HAECHI_IMPORT_LEASE_SECONDS
import_lease_seconds = 120

# The regulator's Ed25519 letter-signing key (PKCS#8 PEM). Generated on first start, with
# owner-only permissions, when the file does not exist. Default: <data_dir>/keys/letter-signing.pem
# Env: HAECHI_LETTER_KEY_FILE
# letter_key_file = "/etc/haechi/letter-signing.pem"

# Notification e-mail (letter issued, revoked, expiry reminders) through an SMTP relay on the
# internal network (plain SMTP). Unset: in-app notifications only.
# Env: HAECHI_SMTP_URL, HAECHI_SMTP_FROM
# smtp_url = "smtp://relay.internal:25"
# smtp_from = "Haechi <haechi@fsc.example>"

# Web portal sign-in: session lifetime and the login throttle. Configuration file only.
[accounts]
# A session unused for this long ends.
session_idle_minutes = 30
# A session ends this long after sign-in, however busy.
session_max_hours = 12
# Consecutive failures on one account, and from one address, before each attempt waits.
max_failures_per_account = 5
max_failures_per_address = 20
# The first wait; it doubles with every further failure, up to lock_max_seconds.
lock_base_seconds = 30
lock_max_seconds = 900
# Failures older than this are forgotten.
failure_window_minutes = 15
min_password_chars = 10
"#;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub log_format: Option<String>,
    pub max_attachment_bytes: Option<usize>,
    pub max_import_bytes: Option<usize>,
    pub import_lease_seconds: Option<u64>,
    pub letter_key_file: Option<PathBuf>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub accounts: Option<haechi_service::sessions::AccountsConfig>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: SocketAddr,
    pub json_logs: bool,
    pub max_attachment_bytes: usize,
    pub max_import_bytes: usize,
    pub import_lease_seconds: u64,
    pub letter_key_file: PathBuf,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub accounts: haechi_service::sessions::AccountsConfig,
}

/// Values given on the command line or in the environment (already merged by clap).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub log_format: Option<String>,
    pub max_attachment_bytes: Option<usize>,
    pub max_import_bytes: Option<usize>,
    pub import_lease_seconds: Option<u64>,
    pub letter_key_file: Option<PathBuf>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
}

impl Config {
    pub fn load(o: &Overrides) -> anyhow::Result<Config> {
        let defaults: FileConfig =
            toml::from_str(DEFAULT_CONFIG).context("built-in default configuration")?;
        let file: FileConfig = match &o.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, file: &Option<String>, def: &Option<String>| {
            flag.clone()
                .or_else(|| file.clone())
                .or_else(|| def.clone())
        };
        let data_dir = o
            .data_dir
            .clone()
            .or(file.data_dir)
            .or(defaults.data_dir)
            .unwrap_or_else(|| PathBuf::from("./haechi-data"));
        let database_url = o
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("haechi.db").display()));
        let bind_text =
            pick(&o.bind, &file.bind, &defaults.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text
            .parse()
            .with_context(|| format!("bind address '{bind_text}' is not HOST:PORT"))?;
        let log_format = pick(&o.log_format, &file.log_format, &defaults.log_format)
            .unwrap_or_else(|| "human".into());
        let json_logs = match log_format.as_str() {
            "human" => false,
            "json" => true,
            other => bail!("log_format '{other}' must be \"human\" or \"json\""),
        };
        let max_attachment_bytes = o
            .max_attachment_bytes
            .or(file.max_attachment_bytes)
            .or(defaults.max_attachment_bytes)
            .unwrap_or(10 << 20);
        let max_import_bytes = o
            .max_import_bytes
            .or(file.max_import_bytes)
            .or(defaults.max_import_bytes)
            .unwrap_or(20 << 20);
        if max_attachment_bytes == 0 || max_import_bytes == 0 {
            bail!("size limits must be positive");
        }
        let import_lease_seconds = o
            .import_lease_seconds
            .or(file.import_lease_seconds)
            .or(defaults.import_lease_seconds)
            .unwrap_or(120);
        if import_lease_seconds == 0 {
            bail!("import_lease_seconds must be positive");
        }
        haechi_store::Dialect::from_url(&database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let letter_key_file = o
            .letter_key_file
            .clone()
            .or(file.letter_key_file)
            .unwrap_or_else(|| data_dir.join("keys").join("letter-signing.pem"));
        let smtp_url = o.smtp_url.clone().or(file.smtp_url);
        let smtp_from = o
            .smtp_from
            .clone()
            .or(file.smtp_from)
            .unwrap_or_else(|| "Haechi <haechi@localhost>".into());
        let accounts = file.accounts.or(defaults.accounts).unwrap_or_default();
        accounts.validate().map_err(|e| anyhow::anyhow!(e))?;
        Ok(Config {
            accounts,
            data_dir,
            database_url,
            bind,
            json_logs,
            max_attachment_bytes,
            max_import_bytes,
            import_lease_seconds,
            letter_key_file,
            smtp_url,
            smtp_from,
        })
    }

    /// The database URL as it may be logged.
    pub fn database_url_redacted(&self) -> String {
        haechi_store::redact_url(&self.database_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_settings_come_from_the_file_and_are_checked() {
        let c = Config::load(&Overrides::default()).unwrap();
        assert_eq!(c.accounts.session_idle_minutes, 30);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haechi.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            Config::load(&Overrides {
                config_file: Some(file.clone()),
                ..Default::default()
            })
        };
        let c = load("[accounts]\nsession_idle_minutes = 5\n").unwrap();
        assert_eq!(c.accounts.session_idle_minutes, 5);
        assert_eq!(
            c.accounts.max_failures_per_account, 5,
            "the rest keep their defaults"
        );
        let e = load("[accounts]\nsession_idle_minutes = 0\n").unwrap_err();
        assert!(
            e.to_string().contains("accounts.session_idle_minutes"),
            "{e}"
        );
        let e = load("[accounts]\nsesion_idle_minutes = 5\n").unwrap_err();
        assert!(format!("{e:#}").contains("sesion_idle_minutes"), "{e:#}");
    }

    #[test]
    fn default_config_parses_and_flags_win() {
        let c = Config::load(&Overrides::default()).unwrap();
        assert_eq!(c.bind.port(), 8080);
        assert!(c.database_url.starts_with("sqlite://"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haechi.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:9000\"\nlog_format = \"json\"\n").unwrap();
        let c = Config::load(&Overrides {
            config_file: Some(file.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert!(c.json_logs);
        let c = Config::load(&Overrides {
            config_file: Some(file),
            bind: Some("127.0.0.1:9100".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.bind.port(), 9100);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "bnd = \"x\"\n").unwrap();
        let err = Config::load(&Overrides {
            config_file: Some(file),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("bnd"), "{err:#}");
        let err = Config::load(&Overrides {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("unsupported database URL"));
    }

    #[test]
    fn password_is_redacted() {
        let c = Config::load(&Overrides {
            database_url: Some("postgres://u:hunter2@h/db".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!c.database_url_redacted().contains("hunter2"));
    }
}
