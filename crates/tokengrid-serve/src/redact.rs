//! Secrets kept out of logs and error messages.

/// A database URL as it may be shown: the password (in the user info or a `password=` query
/// parameter) replaced by `***`; everything else as given, so the host and database still
/// say which ledger is meant.
pub fn redact_url(url: &str) -> String {
    let mut out = match url.find("://") {
        Some(i) => {
            let (scheme, rest) = url.split_at(i + 3);
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(end);
            let authority = match authority.rfind('@') {
                Some(at) => {
                    let (user_info, host) = authority.split_at(at);
                    match user_info.find(':') {
                        Some(c) => format!("{}:***{host}", &user_info[..c]),
                        None => authority.to_owned(),
                    }
                }
                None => authority.to_owned(),
            };
            format!("{scheme}{authority}{tail}")
        }
        None => url.to_owned(),
    };
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_is_kept() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db.example:5432/ledger"),
            "postgres://app:***@db.example:5432/ledger"
        );
        assert_eq!(
            redact_url("postgresql://db/ledger?user=app&password=hunter2&sslmode=require"),
            "postgresql://db/ledger?user=app&password=***&sslmode=require"
        );
        // No password: unchanged.
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(redact_url("sqlite://ledger.db"), "sqlite://ledger.db");
        // A password holding '@' and ':' is hidden whole (the last '@' ends the user info).
        assert_eq!(
            redact_url("postgres://u:p@ss:w@host/db"),
            "postgres://u:***@host/db"
        );
    }
}
