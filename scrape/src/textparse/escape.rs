//! Backslash escapes. Label values, quoted names and OpenMetrics HELP text decode `\\`,
//! `\"` and `\n`; Prometheus text HELP decodes only `\\` and `\n`. Any other backslash
//! sequence is kept verbatim, as Go's `strings.Replacer` in Prometheus does.

use std::borrow::Cow;

/// Which escapes to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// `\\`, `\"`, `\n`: label values, quoted names, OpenMetrics HELP.
    Quoted,
    /// `\\`, `\n`: Prometheus text HELP.
    PromHelp,
}

/// Decodes the escapes of `raw`; borrows when there are none. Bytes that are not UTF-8
/// (which the tokenizer already rejected) are replaced rather than trusted.
pub(crate) fn unescape(raw: &[u8], escapes: Escapes) -> Cow<'_, str> {
    if memchr::memchr(b'\\', raw).is_none() {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let next = raw.get(i + 1).copied();
        let decoded = match (b, next) {
            (b'\\', Some(b'\\')) => Some(b'\\'),
            (b'\\', Some(b'n')) => Some(b'\n'),
            (b'\\', Some(b'"')) if escapes == Escapes::Quoted => Some(b'"'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                out.push(d);
                i += 2;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes() {
        assert!(matches!(
            unescape(b"plain", Escapes::Quoted),
            Cow::Borrowed("plain")
        ));
        assert_eq!(unescape(br#"a\"b\\c\nd"#, Escapes::Quoted), "a\"b\\c\nd");
        assert_eq!(unescape(br"\x \ end\", Escapes::Quoted), r"\x \ end\");
        assert_eq!(unescape(br"\\n", Escapes::Quoted), r"\n");
    }

    #[test]
    fn prom_help_keeps_quote_escape() {
        assert_eq!(
            unescape(br#"a\"b\\c\nd"#, Escapes::PromHelp),
            "a\\\"b\\c\nd"
        );
    }

    #[test]
    fn omhelp_matches_corpus() {
        assert_eq!(
            unescape(br#"escape \ \n \\ \" \x chars"#, Escapes::Quoted),
            "escape \\ \n \\ \" \\x chars"
        );
    }
}
