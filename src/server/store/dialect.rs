//! What differs between the backends' SQL, stated once. The statements the backends share
//! (`sql/`) are written in SQLite's form with `?` placeholders; [`Dialect::sql`] puts them in
//! PostgreSQL's (`$1`, `$2`, ...), and the few expressions with no common spelling (JSON paths,
//! a read snapshot) come from here.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement in this dialect: for PostgreSQL every `?` placeholder (outside quoted text)
    /// becomes `$n`, numbered in order.
    pub fn sql(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Sqlite => Cow::Borrowed(sql),
            Dialect::Postgres => Cow::Owned(numbered(sql)),
        }
    }

    /// A text field at `path` inside the JSON stored in `column`.
    pub fn json_text(self, column: &str, path: &[&str]) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{}')", path.join(".")),
            Dialect::Postgres => format!("(({column})::jsonb #>> '{{{}}}')", path.join(",")),
        }
    }

    /// The JSON in `column` with the top-level `field` set to the integer parameter `?`.
    pub fn json_set_integer(self, column: &str, field: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_set({column}, '$.{field}', ?)"),
            Dialect::Postgres => format!("jsonb_set(({column})::jsonb, '{{{field}}}', to_jsonb(?::bigint))::text"),
        }
    }

    /// How a read-only transaction that sees one snapshot begins. SQLite's deferred transaction
    /// reads one snapshot from its first read; PostgreSQL's default (read committed) takes a new
    /// one for every statement, so it asks for repeatable read.
    pub fn begin_snapshot(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '?') => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
                continue;
            }
            (None, _) => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_quoted_text() {
        let sql = "UPDATE cases SET body = json_set(body, '$.window?', ?) WHERE id = ? AND \"a?\" = ?";
        assert_eq!(Dialect::Sqlite.sql(sql), sql);
        assert_eq!(
            Dialect::Postgres.sql(sql),
            "UPDATE cases SET body = json_set(body, '$.window?', $1) WHERE id = $2 AND \"a?\" = $3"
        );
    }

    #[test]
    fn json_paths_in_both_dialects() {
        assert_eq!(Dialect::Sqlite.json_text("body", &["applicant", "name"]), "json_extract(body, '$.applicant.name')");
        assert_eq!(
            Dialect::Postgres.json_text("body", &["applicant", "name"]),
            "((body)::jsonb #>> '{applicant,name}')"
        );
        assert_eq!(
            Dialect::Postgres.sql(&Dialect::Postgres.json_set_integer("body", "window")),
            "jsonb_set((body)::jsonb, '{window}', to_jsonb($1::bigint))::text"
        );
    }
}
