//! Small JSON writers for the response bodies (label sets keep `__name__` first, as
//! VictoriaMetrics prints them).

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

/// Appends `s` as a JSON string literal.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Label names and values rarely need escapes: copy them whole when they do not.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `{"__name__":"...","a":"..."}`: `__name__` first, then name order.
pub fn write_labels_object(out: &mut String, labels: &Labels) {
    out.push('{');
    let ordered = labels
        .iter()
        .filter(|l| l.name == METRIC_NAME)
        .chain(labels.iter().filter(|l| l.name != METRIC_NAME));
    for (i, l) in ordered.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, &l.name);
        out.push(':');
        write_json_string(out, &l.value);
    }
    out.push('}');
}

/// `list` sorted and without duplicates (untouched when it already is).
pub(crate) fn sorted_unique<T: Ord>(mut list: Vec<T>) -> Vec<T> {
    if !list.is_sorted_by(|a, b| a < b) {
        list.sort_unstable();
        list.dedup();
    }
    list
}

/// `{"status":"success","data":[...]}` around items written by `item`.
pub(crate) fn success_list<T>(items: &[T], item: impl FnMut(&mut String, &T)) -> String {
    let mut out = String::from(r#"{"status":"success","data":"#);
    write_list(&mut out, items, item);
    out.push('}');
    out
}

/// Appends `[item,item,...]`, each item written by `item`.
pub fn write_list<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, it);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_put_the_name_first_and_escape() {
        let mut s = String::new();
        write_labels_object(
            &mut s,
            &Labels::from_pairs(&[("A", "1"), ("__name__", "m"), ("b", "x\"\u{1}")]),
        );
        assert_eq!(s, r#"{"__name__":"m","A":"1","b":"x\"\u0001"}"#);
        let mut s = String::new();
        write_json_string(&mut s, "é\t✓");
        assert_eq!(s, r#""é\t✓""#);
        let body = success_list(&["a", "b"], |o, v| write_json_string(o, v));
        assert_eq!(body, r#"{"status":"success","data":["a","b"]}"#);
        assert_eq!(sorted_unique(vec![3, 1, 3, 2]), [1, 2, 3]);
        assert_eq!(sorted_unique(vec![1, 2]), [1, 2]);
    }
}
