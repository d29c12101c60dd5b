//! One description of where the database is and how to reach it, read from a URL or a
//! `key=value` conninfo string, with libpq's environment variables (`PGHOST`, `PGSSLMODE`, ...)
//! and password file filling what the text leaves out, the way libpq does. Both pools connect
//! from it: the async readers through tokio-postgres and OpenSSL, the COPY writers through
//! libpq (which is OpenSSL too), so that both reach the same server the same way and accept or
//! refuse the same certificates.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use percent_encoding::percent_decode_str;
use postgres_openssl::MakeTlsConnector;

/// libpq's `sslmode`, less `allow` (plaintext first), which tokio-postgres cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, else plaintext; certificates are not verified.
    Prefer,
    /// TLS always; the certificate is verified only against a root certificate, when one is
    /// given or `~/.postgresql/root.crt` exists (as libpq does).
    Require,
    /// TLS, the certificate signed by the root certificate.
    VerifyCa,
    /// As `VerifyCa`, and the certificate names the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => bail!("sslmode `allow` is not supported; use disable or prefer"),
            other => bail!(
                "sslmode `{other}` is none of disable, prefer, require, verify-ca, verify-full"
            ),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// The parameters btdb understands, in a URL's query or a conninfo string.
const KNOWN: [&str; 13] = [
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "options",
    "connect_timeout",
    "target_session_attrs",
];

/// The environment variables libpq reads, and the parameter each fills.
const ENVIRONMENT: [(&str, &str); 11] = [
    ("PGHOST", "host"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGPASSWORD", "password"),
    ("PGDATABASE", "dbname"),
    ("PGAPPNAME", "application_name"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGOPTIONS", "options"),
];

/// Where the database is and how to reach it. Its `Debug` form hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnConfig {
    /// Host names, addresses, or socket directories (starting with `/`).
    pub hosts: Vec<String>,
    /// One port for every host, or one per host.
    pub ports: Vec<u16>,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    pub application_name: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    /// Server options (`-c name=value`), passed through.
    pub options: Option<String>,
    pub target_session_attrs: Option<String>,
}

impl fmt::Debug for ConnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnConfig")
            .field("hosts", &self.hosts)
            .field("ports", &self.ports)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .finish_non_exhaustive()
    }
}

/// Where libpq looks when nothing says: the environment and the home directory.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Vec<(String, String)>,
    home: Option<PathBuf>,
    os_user: Option<String>,
}

impl Environment {
    /// This process's environment.
    pub fn current() -> Self {
        let os_user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name);
        Self {
            vars: std::env::vars().collect(),
            home: dirs::home_dir(),
            os_user,
        }
    }

    /// Nothing from outside: for the embedded cluster, whose URL says everything, and which no
    /// variable may redirect.
    pub fn none() -> Self {
        Self::default()
    }

    /// An environment of the given variables and home directory (for tests).
    pub fn with(vars: &[(&str, &str)], home: Option<&Path>) -> Self {
        Self {
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            home: home.map(Path::to_path_buf),
            os_user: Some("os_user".to_owned()),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn home_file(&self, name: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(name))
    }
}

impl ConnConfig {
    /// Reads `text`, a `postgres://` URL or `key=value` pairs; `env` fills what it leaves out.
    /// Errors name the part that is wrong, never the password.
    pub fn parse(text: &str, env: &Environment) -> Result<Self> {
        let params = parse_text(text)?.params;
        let get = |key: &str| -> Option<String> {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    ENVIRONMENT
                        .iter()
                        .find(|(_, k)| *k == key)
                        .and_then(|(var, _)| env.var(var))
                        .map(str::to_owned)
                })
        };
        let hosts: Vec<String> = match get("host") {
            Some(hosts) => hosts.split(',').map(str::to_owned).collect(),
            None if Path::new(DEFAULT_SOCKET_DIR).is_dir() => vec![DEFAULT_SOCKET_DIR.to_owned()],
            None => vec!["localhost".to_owned()],
        };
        let ports = match get("port") {
            Some(ports) => ports
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<u16>()
                        .map_err(|_| anyhow!("the database URL's port `{p}` is not a port number"))
                })
                .collect::<Result<Vec<u16>>>()?,
            None => vec![5432],
        };
        if ports.len() != 1 && ports.len() != hosts.len() {
            bail!(
                "the database URL names {} hosts and {} ports: give one port, or one per host",
                hosts.len(),
                ports.len()
            );
        }
        let user = get("user")
            .or_else(|| env.os_user.clone())
            .ok_or_else(|| anyhow!("the database URL names no user, and the OS user is unknown"))?;
        let dbname = get("dbname").unwrap_or_else(|| user.clone());
        let sslmode = match get("sslmode") {
            Some(mode) => SslMode::parse(&mode).context("the database URL")?,
            None => SslMode::Prefer,
        };
        // libpq's defaults: these files count when they exist.
        let existing = |name: &str| env.home_file(name).filter(|p| p.is_file());
        let sslrootcert = get("sslrootcert")
            .map(PathBuf::from)
            .or_else(|| existing(".postgresql/root.crt"));
        let sslcert = get("sslcert")
            .map(PathBuf::from)
            .or_else(|| existing(".postgresql/postgresql.crt"));
        let sslkey = get("sslkey")
            .map(PathBuf::from)
            .or_else(|| existing(".postgresql/postgresql.key"));
        let mut config = ConnConfig {
            hosts,
            ports,
            user,
            password: get("password"),
            dbname,
            application_name: get("application_name").unwrap_or_else(|| "btdb".to_owned()),
            sslmode,
            sslrootcert,
            sslcert,
            sslkey,
            options: get("options"),
            target_session_attrs: get("target_session_attrs"),
        };
        if config.password.is_none() {
            config.password = config.password_from_file(env)?;
        }
        config.check_files()?;
        Ok(config)
    }

    /// Whether TLS may be used: some host is reached over TCP and sslmode allows it. A Unix
    /// socket never uses TLS.
    pub fn uses_tls(&self) -> bool {
        self.sslmode != SslMode::Disable && self.hosts.iter().any(|h| !h.starts_with('/'))
    }

    /// The certificate and key files that will be read exist and can be read: one line naming
    /// the file otherwise.
    fn check_files(&self) -> Result<()> {
        if !self.uses_tls() {
            return Ok(());
        }
        if matches!(self.sslmode, SslMode::VerifyCa | SslMode::VerifyFull)
            && self.sslrootcert.is_none()
        {
            bail!(
                "sslmode={} needs a root certificate to verify the server against: set \
                 sslrootcert (or PGSSLROOTCERT), or put it in ~/.postgresql/root.crt",
                self.sslmode.as_str()
            );
        }
        for (name, path) in [
            ("sslrootcert", &self.sslrootcert),
            ("sslcert", &self.sslcert),
            ("sslkey", &self.sslkey),
        ] {
            if let Some(path) = path {
                std::fs::File::open(path)
                    .with_context(|| format!("cannot read {name} `{}`", path.display()))?;
            }
        }
        if self.sslcert.is_some() != self.sslkey.is_some() {
            bail!("a client certificate needs both sslcert and sslkey");
        }
        Ok(())
    }

    /// The password for this host, port, database and user in the password file (`PGPASSFILE`
    /// or `~/.pgpass`), which libpq ignores unless only its owner may read it.
    fn password_from_file(&self, env: &Environment) -> Result<Option<String>> {
        let path = match env.var("PGPASSFILE") {
            Some(path) => PathBuf::from(path),
            None => match env.home_file(".pgpass") {
                Some(path) => path,
                None => return Ok(None),
            },
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(None);
        };
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        if mode & 0o077 != 0 {
            tracing::warn!(
                "password file `{}` is readable by others: ignored (chmod 0600 it)",
                path.display()
            );
            return Ok(None);
        }
        let host = &self.hosts[0];
        // A socket directory matches `localhost`, as in libpq.
        let host_names: Vec<&str> = if host.starts_with('/') {
            vec![host.as_str(), "localhost"]
        } else {
            vec![host.as_str()]
        };
        let port = self.ports[0].to_string();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields = pgpass_fields(line);
            let [h, p, d, u, password] = fields.as_slice() else {
                continue;
            };
            let matches = |field: &str, value: &str| field == "*" || field == value;
            if host_names.iter().any(|name| matches(h, name))
                && matches(p, &port)
                && matches(d, &self.dbname)
                && matches(u, &self.user)
            {
                return Ok(Some(password.clone()));
            }
        }
        Ok(None)
    }

    /// `host:port` (or the socket directory) and the database, for messages: never the
    /// password.
    pub fn describe(&self) -> String {
        let places: Vec<String> = self
            .hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = self.ports.get(i).unwrap_or(&self.ports[0]);
                if host.starts_with('/') {
                    host.clone()
                } else {
                    format!("{host}:{port}")
                }
            })
            .collect();
        format!("database `{}` on `{}`", self.dbname, places.join(","))
    }

    /// The same server as another database.
    pub fn with_dbname(&self, dbname: &str) -> Self {
        Self {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    /// tokio-postgres's configuration of this target; TLS is `tls()`'s.
    pub fn tokio(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        for host in &self.hosts {
            if host.starts_with('/') {
                config.host_path(host);
            } else {
                config.host(host);
            }
        }
        for port in &self.ports {
            config.port(*port);
        }
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .ssl_mode(match self.sslmode {
                _ if !self.uses_tls() => tokio_postgres::config::SslMode::Disable,
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                    tokio_postgres::config::SslMode::Require
                }
            });
        if let Some(password) = &self.password {
            config.password(password);
        }
        if let Some(options) = &self.options {
            config.options(options);
        }
        if self.target_session_attrs.as_deref() == Some("read-write") {
            config.target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
        }
        config
    }

    /// The TLS connector for `sslmode`, verifying as libpq does: the chain against
    /// `sslrootcert` for verify-ca, verify-full and (when a root certificate is there) require;
    /// the host name too for verify-full; nothing for prefer.
    pub fn tls(&self) -> Result<MakeTlsConnector> {
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).context("setting up TLS (OpenSSL)")?;
        let verify = match self.sslmode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => self.sslrootcert.is_some(),
            SslMode::Disable | SslMode::Prefer => false,
        };
        if verify && let Some(ca) = &self.sslrootcert {
            builder
                .set_ca_file(ca)
                .with_context(|| format!("cannot read sslrootcert `{}`", ca.display()))?;
        }
        builder.set_verify(if verify {
            SslVerifyMode::PEER
        } else {
            SslVerifyMode::NONE
        });
        if let (Some(cert), Some(key)) = (&self.sslcert, &self.sslkey) {
            builder
                .set_certificate_chain_file(cert)
                .with_context(|| format!("cannot read sslcert `{}`", cert.display()))?;
            builder
                .set_private_key_file(key, SslFiletype::PEM)
                .with_context(|| format!("cannot read sslkey `{}`", key.display()))?;
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        let full = self.sslmode == SslMode::VerifyFull;
        connector.set_callback(move |config, _host| {
            config.set_verify_hostname(full);
            Ok(())
        });
        Ok(connector)
    }

    /// The same target as libpq `key='value'` pairs, every value explicit, for the COPY
    /// writers. Holds the password: never print it.
    pub fn libpq(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("host", self.hosts.join(",")),
            (
                "port",
                self.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("user", self.user.clone()),
            ("dbname", self.dbname.clone()),
            ("application_name", self.application_name.clone()),
            ("sslmode", self.sslmode.as_str().to_owned()),
        ];
        if let Some(password) = &self.password {
            pairs.push(("password", password.clone()));
        }
        for (key, path) in [
            ("sslrootcert", &self.sslrootcert),
            ("sslcert", &self.sslcert),
            ("sslkey", &self.sslkey),
        ] {
            if let Some(path) = path {
                pairs.push((key, path.display().to_string()));
            }
        }
        if let Some(options) = &self.options {
            pairs.push(("options", options.clone()));
        }
        if let Some(attrs) = &self.target_session_attrs {
            pairs.push(("target_session_attrs", attrs.clone()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Debian's (and libpq's usual) socket directory, the default host when none is given.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// `host:port:database:user:password`, where `\:` and `\\` stand for `:` and `\`.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn decode(part: &str, what: &str) -> Result<String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| anyhow!("the database URL's {what} is not UTF-8 once decoded"))
}

/// A connection string as written, before the environment fills it in: whether it was a URL,
/// and its parameters in order, each once (the last one given wins), all of them known.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub url: bool,
    pub params: Vec<(String, String)>,
}

/// The one reading of a connection string, a `postgres://` URL or `key=value` pairs, which
/// `ConnConfig::parse` resolves and `url` prints back.
pub(crate) fn parse_text(text: &str) -> Result<Written> {
    let url = text.starts_with("postgres://") || text.starts_with("postgresql://");
    let given = if url {
        parse_url(text)?
    } else if text.contains('=') {
        parse_conninfo(text)?
    } else {
        bail!(
            "the database URL is neither postgres://… nor key=value pairs (it starts with `{}`)",
            text.chars().take(12).collect::<String>()
        );
    };
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in given {
        if !KNOWN.contains(&key.as_str()) {
            bail!(
                "the database URL has an unknown parameter `{key}`; btdb knows {}",
                KNOWN.join(", ")
            );
        }
        params.retain(|(k, _)| *k != key);
        params.push((key, value));
    }
    Ok(Written { url, params })
}

/// `postgres://user:password@host:port,host2:port2/dbname?key=value&…` as key/value pairs.
fn parse_url(text: &str) -> Result<Vec<(String, String)>> {
    let rest = text
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((info, hosts)) => (Some(info), hosts),
        None => (None, authority),
    };
    let mut params = Vec::new();
    if let Some(info) = userinfo {
        let (user, password) = match info.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (info, None),
        };
        if !user.is_empty() {
            params.push(("user".to_owned(), decode(user, "user")?));
        }
        if let Some(password) = password {
            params.push(("password".to_owned(), decode(password, "password")?));
        }
    }
    if !hostlist.is_empty() {
        let (mut hosts, mut ports) = (Vec::new(), Vec::new());
        for entry in hostlist.split(',') {
            // `[::1]:5432`: the port follows the bracket.
            let (host, port) = if let Some(v6) = entry.strip_prefix('[') {
                let (host, after) = v6.split_once(']').ok_or_else(|| {
                    anyhow!("the database URL's host `{entry}` opens `[` without closing it")
                })?;
                (host, after.strip_prefix(':'))
            } else {
                match entry.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (entry, None),
                }
            };
            hosts.push(decode(host, "host")?);
            if let Some(port) = port {
                ports.push(port.to_owned());
            }
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            params.push(("host".to_owned(), hosts.join(",")));
        }
        if !ports.is_empty() {
            params.push(("port".to_owned(), ports.join(",")));
        }
    }
    let dbname = path.trim_start_matches('/');
    if !dbname.is_empty() {
        params.push(("dbname".to_owned(), decode(dbname, "database name")?));
    }
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("the database URL's parameter `{pair}` has no `=value`"))?;
        let key = decode(key, "parameter name")?;
        let value = decode(value, &format!("parameter `{key}`"))?;
        params.push((key, value));
    }
    Ok(params)
}

/// `key=value key2='quoted \' value'` as key/value pairs.
fn parse_conninfo(text: &str) -> Result<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            bail!("the connection string has `{key}` without `=value`");
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => bail!(
                        "the connection string's value of `{key}` opens a quote it does not close"
                    ),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        params.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, vars: &[(&str, &str)]) -> Result<ConnConfig> {
        ConnConfig::parse(text, &Environment::with(vars, None))
    }

    #[test]
    fn urls_and_conninfo_strings_read_the_same() {
        let url = parse(
            "postgresql://al%40ice:p%3Aw@db.example:6432/res%20ults?sslmode=require&application_name=x",
            &[],
        )
        .expect("url");
        let conninfo = parse(
            "host=db.example port=6432 user='al@ice' password='p:w' dbname='res ults' sslmode=require application_name=x",
            &[],
        )
        .expect("conninfo");
        assert_eq!(url, conninfo);
        assert_eq!(url.user, "al@ice");
        assert_eq!(url.password.as_deref(), Some("p:w"));
        assert_eq!(url.describe(), "database `res ults` on `db.example:6432`");
        assert!(!format!("{url:?}").contains("p:w"));
    }

    #[test]
    fn sockets_several_hosts_and_ipv6() {
        let socket =
            parse("postgres:///btdb?host=%2Frun%2Fpg&port=5433&user=u", &[]).expect("socket");
        assert_eq!(socket.hosts, ["/run/pg"]);
        assert!(!socket.uses_tls(), "a socket never uses TLS");
        let many = parse("postgres://u@h1:5432,[::1]:5433/d", &[]).expect("hosts");
        assert_eq!(many.hosts, ["h1", "::1"]);
        assert_eq!(many.ports, [5432, 5433]);
    }

    #[test]
    fn the_environment_fills_only_what_the_text_leaves_out() {
        let env = [
            ("PGHOST", "envhost"),
            ("PGPORT", "7000"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "disable"),
            ("PGAPPNAME", "envapp"),
        ];
        let filled = parse("postgres://", &env).expect("filled");
        assert_eq!(filled.hosts, ["envhost"]);
        assert_eq!(filled.ports, [7000]);
        assert_eq!(
            (filled.user.as_str(), filled.dbname.as_str()),
            ("envuser", "envdb")
        );
        assert_eq!(filled.password.as_deref(), Some("envpw"));
        assert_eq!(filled.sslmode, SslMode::Disable);
        assert_eq!(filled.application_name, "envapp");
        let given = parse("postgres://u:pw@h:1/d?sslmode=require", &env).expect("given");
        assert_eq!(
            (
                given.hosts[0].as_str(),
                given.ports[0],
                given.user.as_str(),
                given.dbname.as_str()
            ),
            ("h", 1, "u", "d")
        );
        assert_eq!(given.password.as_deref(), Some("pw"));
        assert_eq!(given.sslmode, SslMode::Require);
        // Nothing said: btdb names itself, and the OS user is the user and the database.
        let bare = parse("host=h", &[]).expect("bare");
        assert_eq!(bare.application_name, "btdb");
        assert_eq!(
            (bare.user.as_str(), bare.dbname.as_str()),
            ("os_user", "os_user")
        );
        assert_eq!(bare.sslmode, SslMode::Prefer);
    }

    #[test]
    fn the_password_file_fills_a_missing_password() {
        let dir = std::env::temp_dir().join(format!("btdb-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:u:no\nh:5432:d:u:wr\\:ong\nh:*:*:u:p\\:w\\\\x\nlocalhost:*:*:*:sock\n",
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let path = file.to_str().expect("path");
        let found =
            parse("host=h port=6000 user=u dbname=d", &[("PGPASSFILE", path)]).expect("found");
        assert_eq!(found.password.as_deref(), Some("p:w\\x"));
        let socket = parse("host=/tmp user=z", &[("PGPASSFILE", path)]).expect("socket");
        assert_eq!(socket.password.as_deref(), Some("sock"));
        let given = parse("host=h user=u password=mine", &[("PGPASSFILE", path)]).expect("given");
        assert_eq!(given.password.as_deref(), Some("mine"));
        // Readable by others: ignored, as libpq does.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let ignored = parse("host=h user=u", &[("PGPASSFILE", path)]).expect("ignored");
        assert_eq!(ignored.password, None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn mistakes_name_the_part_and_never_the_password() {
        let cases = [
            (
                "postgres://u:secret@h/d?sslmode=sometimes",
                "sslmode `sometimes`",
            ),
            (
                "postgres://u:secret@h:port/d",
                "port `port` is not a port number",
            ),
            (
                "postgres://u:secret@h/d?colour=blue",
                "unknown parameter `colour`",
            ),
            (
                "postgres://u:secret@h/d?sslmode",
                "parameter `sslmode` has no `=value`",
            ),
            (
                "host=h password='secret",
                "value of `password` opens a quote",
            ),
            ("host=h secret", "has `secret` without `=value`"),
            ("postgres://u:secret@[::1/d", "opens `[` without closing it"),
            ("mysql-ish", "neither postgres://"),
            (
                "host=h sslmode=verify-full password=secret",
                "needs a root certificate",
            ),
            (
                "host=h sslmode=require sslrootcert=/nonexistent/ca.pem password=secret",
                "cannot read sslrootcert `/nonexistent/ca.pem`",
            ),
            (
                "postgres://u:secret@h/d?sslmode=allow",
                "`allow` is not supported",
            ),
        ];
        for (text, fragment) in cases {
            let err = format!("{:#}", parse(text, &[]).expect_err(text));
            assert!(err.contains(fragment), "{text}: {err}");
            assert!(
                !err.contains("secret") || fragment.contains("secret"),
                "{text}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn libpq_gets_every_value_explicitly_and_quoted() {
        let config = parse(
            "postgres://u:it's%20a\\pw@h/d?sslmode=verify-ca&sslrootcert=/ca.pem",
            &[],
        )
        .map(|c| c.libpq());
        // verify-ca with a root certificate that does not exist is refused before libpq sees it.
        assert!(config.is_err());
        let config = parse("postgres://u:it's%20a\\pw@h/d?sslmode=disable", &[]).expect("config");
        let libpq = config.libpq();
        assert!(libpq.contains(r"password='it\'s a\\pw'"), "{libpq}");
        assert!(
            libpq.contains("host='h'") && libpq.contains("sslmode='disable'"),
            "{libpq}"
        );
        assert!(libpq.contains("application_name='btdb'"), "{libpq}");
    }
}
