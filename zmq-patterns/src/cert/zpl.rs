//! The part of ZPL (spec 4/ZPL, CZMQ's `zconfig`) that certificate files use: sections of
//! `name = "value"` lines, indented by four spaces a level, `#` comments.

use crate::error::{Error, Result};

/// One line of a ZPL file and the lines indented under it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub value: Option<String>,
    pub children: Vec<Node>,
}

/// True for a ZPL name: letters, digits and `$ - _ @ . & + /`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$-_@.&+/".contains(&b))
}

fn bad(line: usize, what: &str) -> Error {
    Error::Corrupt(format!("ZPL line {line}: {what}"))
}

/// Parses `text` into a root node whose children are the top-level sections. Any text gives
/// `Ok` or [`Error::Corrupt`] (never a panic).
pub(crate) fn parse(text: &str) -> Result<Node> {
    let mut root = Node::default();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        let body = line.trim_start_matches(' ');
        if body.trim().is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        if indent % 4 != 0 {
            return Err(bad(
                number,
                "indentation that is not a multiple of 4 spaces",
            ));
        }
        let (name, rest) = body
            .find([' ', '=', '#', '\t'])
            .map_or((body, ""), |at| body.split_at(at));
        if !is_name(name) {
            return Err(bad(number, "a bad name"));
        }
        let rest = rest.trim_start();
        let value = match rest.strip_prefix('=') {
            Some(v) => Some(value(number, v.trim_start())?),
            None if rest.is_empty() || rest.starts_with('#') => None,
            None => return Err(bad(number, "text after a name that is not '= value'")),
        };
        // Walk down to the node this line belongs under
        let mut parent = &mut root;
        for _ in 0..indent / 4 {
            parent = parent
                .children
                .last_mut()
                .ok_or_else(|| bad(number, "indented deeper than the line above"))?;
        }
        parent.children.push(Node {
            name: name.to_string(),
            value,
            children: Vec::new(),
        });
    }
    Ok(root)
}

/// A value: `"quoted"`, `'quoted'`, or bare up to a space or `#`; a comment may follow.
fn value(line: usize, text: &str) -> Result<String> {
    let (value, after) = match text.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &text[1..];
            let end = inner
                .find(quote)
                .ok_or_else(|| bad(line, "a quoted value with no closing quote"))?;
            (&inner[..end], &inner[end + 1..])
        }
        _ => {
            let end = text.find([' ', '\t', '#']).unwrap_or(text.len());
            text.split_at(end)
        }
    };
    let after = after.trim_start();
    if !(after.is_empty() || after.starts_with('#')) {
        return Err(bad(line, "text after a value"));
    }
    Ok(value.to_string())
}

impl Node {
    /// The child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The value at a path of names (`["curve", "public-key"]`).
    pub(crate) fn get(&self, path: &[&str]) -> Option<&str> {
        let mut node = self;
        for name in path {
            node = node.child(name)?;
        }
        node.value.as_deref()
    }
}

/// A value as ZPL text, quoted; `None` when ZPL cannot carry it (both kinds of quote, or a
/// line break).
pub(crate) fn quote(value: &str) -> Option<String> {
    if value.contains(['\n', '\r']) {
        None
    } else if !value.contains('"') {
        Some(format!("\"{value}\""))
    } else if !value.contains('\'') {
        Some(format!("'{value}'"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_czmq_writes() {
        let text = "#   ****  Generated on 2024-01-02 10:00:00 by CZMQ  ****\n\
                    #   ZeroMQ CURVE **Secret** Certificate\n\
                    \n\
                    metadata\n    name = \"Client test\"\n    email = 'a\"b' # a comment\n\
                    curve\n    public-key = \"abc\"\n    secret-key = bare\n";
        let root = parse(text).unwrap();
        assert_eq!(root.get(&["metadata", "name"]), Some("Client test"));
        assert_eq!(root.get(&["metadata", "email"]), Some("a\"b"));
        assert_eq!(root.get(&["curve", "secret-key"]), Some("bare"));
        assert_eq!(root.get(&["curve", "nothing"]), None);
    }

    #[test]
    fn refuses_what_is_not_zpl() {
        for bad in [
            "  two spaces",
            "    indented first",
            "a\n        too deep",
            "x = \"open",
            "x = \"v\" trailing",
            "bad name",
            "é",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quoting_round_trips_or_refuses() {
        for v in ["", "a b", "it's", "say \"hi\""] {
            let line = format!("x = {}", quote(v).unwrap());
            assert_eq!(parse(&line).unwrap().get(&["x"]), Some(v));
        }
        assert_eq!(quote("both ' and \""), None);
        assert_eq!(quote("two\nlines"), None);
    }
}
