//! Where things are in a rule file: a small scanner of block-style YAML that tracks the
//! path of every key (`groups[0].rules[2].expr`) and the line and column of its value, so
//! that validation errors can say `5:15:` as promtool does. Flow-style mappings and
//! aliases are not followed; what cannot be located reports no position.

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1 (0 when unknown, as promtool prints `0:0`).
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// One step of a path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Item(usize),
}

/// A key seen in the file: its path (ending with the key), the key's position and the
/// value's position.
#[derive(Clone, Debug)]
pub(crate) struct KeyAt {
    pub path: Vec<Seg>,
    pub key: Pos,
    pub value: Pos,
    /// The value's text when it is a plain scalar on the key's line (comment removed).
    pub raw: Option<String>,
}

/// Every key of a file and the first-key position of every sequence item.
#[derive(Debug, Default)]
pub(crate) struct Locations {
    pub keys: Vec<KeyAt>,
}

struct Frame {
    col: usize,
    seg: Seg,
    items: usize,
}

impl Locations {
    /// Scans the first YAML document of `text`.
    pub fn scan(text: &str) -> Locations {
        let mut out = Locations::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut root_items = 0;
        let mut block_scalar_above: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let body = raw.trim();
            if let Some(min) = block_scalar_above {
                if body.is_empty() || indent > min {
                    continue;
                }
                block_scalar_above = None;
            }
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if line_no > 1 && (body == "---" || body == "...") {
                break;
            }
            let mut col = indent;
            let mut rest = &raw[indent..];
            // Sequence item markers, possibly several on one line (`- - a`).
            while rest == "-" || rest.starts_with("- ") {
                while stack
                    .last()
                    .is_some_and(|f| f.col > col || (f.col == col && matches!(f.seg, Seg::Item(_))))
                {
                    stack.pop();
                }
                let idx = match stack.last_mut() {
                    Some(f) => {
                        f.items += 1;
                        f.items - 1
                    }
                    None => {
                        root_items += 1;
                        root_items - 1
                    }
                };
                stack.push(Frame {
                    col,
                    seg: Seg::Item(idx),
                    items: 0,
                });
                let after = &rest[1..];
                let skip = after.len() - after.trim_start_matches(' ').len();
                col += 1 + skip;
                rest = &after[skip..];
            }
            let Some((key, value_off)) = split_key(rest) else {
                continue;
            };
            while stack.last().is_some_and(|f| f.col >= col) {
                stack.pop();
            }
            stack.push(Frame {
                col,
                seg: Seg::Key(key.to_string()),
                items: 0,
            });
            let value = rest[value_off..].trim_start_matches(' ');
            let value_col = col + rest.len() - value.len();
            let has_value = !value.is_empty() && !value.starts_with('#');
            if value.starts_with('|') || value.starts_with('>') {
                block_scalar_above = Some(col);
            }
            let key_pos = Pos {
                line: line_no,
                col: col + 1,
            };
            out.keys.push(KeyAt {
                path: stack.iter().map(|f| f.seg.clone()).collect(),
                raw: plain_scalar(value),
                key: key_pos,
                value: if has_value {
                    Pos {
                        line: line_no,
                        col: value_col + 1,
                    }
                } else {
                    key_pos
                },
            });
        }
        out
    }

    /// Position of the value of the key at `path`.
    pub fn value(&self, path: &[Seg]) -> Option<Pos> {
        self.keys.iter().find(|k| k.path == path).map(|k| k.value)
    }

    /// The text of a plain scalar value at `path`, as written.
    pub fn raw(&self, path: &[Seg]) -> Option<&str> {
        self.keys
            .iter()
            .find(|k| k.path == path)
            .and_then(|k| k.raw.as_deref())
    }

    /// Position of the first key of the mapping at `path` (a sequence item).
    pub fn mapping(&self, path: &[Seg]) -> Option<Pos> {
        self.keys
            .iter()
            .find(|k| k.path.len() == path.len() + 1 && k.path.starts_with(path))
            .map(|k| k.key)
    }

    /// Line of the key `name` directly inside the mapping at `path`.
    pub fn key_line(&self, path: &[Seg], name: &str) -> Option<usize> {
        self.keys
            .iter()
            .find(|k| {
                k.path.len() == path.len() + 1
                    && k.path.starts_with(path)
                    && k.path.last() == Some(&Seg::Key(name.to_string()))
            })
            .map(|k| k.key.line)
    }
}

/// Splits `key: value` (or `key:` at the end of the line); the offset is where the value
/// starts. Quoted keys and flow collections are not keys here.
fn split_key(s: &str) -> Option<(&str, usize)> {
    if s.starts_with(['"', '\'', '{', '[', '&', '*', '!', '|', '>']) {
        return None;
    }
    let mut from = 0;
    while let Some(p) = s[from..].find(':') {
        let at = from + p;
        let next = s[at + 1..].chars().next();
        if next.is_none() || next == Some(' ') {
            let key = s[..at].trim_end();
            return (!key.is_empty() && !key.contains(" #")).then_some((key, at + 1));
        }
        from = at + 1;
    }
    None
}

/// `value` without a trailing comment, when it is a plain (unquoted, single-line) scalar.
fn plain_scalar(value: &str) -> Option<String> {
    if value.is_empty() || value.starts_with(['"', '\'', '{', '[', '&', '*', '!', '|', '>', '#']) {
        return None;
    }
    let text = match value.find(" #") {
        Some(p) => &value[..p],
        None => value,
    };
    Some(text.trim_end().to_string())
}

/// Path helpers for the rule-file layout.
pub(crate) fn group_path(g: usize) -> Vec<Seg> {
    vec![Seg::Key("groups".into()), Seg::Item(g)]
}

pub(crate) fn rule_path(g: usize, r: usize) -> Vec<Seg> {
    let mut p = group_path(g);
    p.push(Seg::Key("rules".into()));
    p.push(Seg::Item(r));
    p
}

pub(crate) fn child(mut path: Vec<Seg>, key: &str) -> Vec<Seg> {
    path.push(Seg::Key(key.into()));
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "groups:\n  - name: yolo\n    rules:\n      - record: Hi\n        alert: Hello\n        expr: |\n          up: 1\n      - alert: B\n        expr: x\n  - name: two\n    rules:\n    - record: c\n      expr: y\n";

    #[test]
    fn finds_rule_values() {
        let l = Locations::scan(FILE);
        assert_eq!(
            l.value(&child(rule_path(0, 0), "record")),
            Some(Pos { line: 4, col: 17 })
        );
        assert_eq!(
            l.value(&child(rule_path(0, 0), "alert")),
            Some(Pos { line: 5, col: 16 })
        );
        assert_eq!(
            l.value(&child(rule_path(0, 1), "expr")),
            Some(Pos { line: 9, col: 15 })
        );
        // Items at the same indentation as their key.
        assert_eq!(
            l.value(&child(rule_path(1, 0), "expr")),
            Some(Pos { line: 13, col: 13 })
        );
        assert_eq!(l.mapping(&group_path(1)), Some(Pos { line: 10, col: 5 }));
        assert_eq!(l.key_line(&rule_path(0, 0), "alert"), Some(5));
    }

    #[test]
    fn block_scalar_content_is_not_keys() {
        let l = Locations::scan(FILE);
        assert!(
            l.keys
                .iter()
                .all(|k| k.path.last() != Some(&Seg::Key("up".into())))
        );
    }
}
