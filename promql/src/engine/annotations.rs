//! Warnings and infos an evaluation attaches to its result, as Prometheus 3 does
//! (`PromQL warning: … (line:col)`).

use std::cell::RefCell;

use crate::parser::ast::Expr;

/// Whether an annotation is a warning or an info.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnnotationKind {
    /// Something is probably wrong with the query or the data.
    Warning,
    /// Something may be wrong.
    Info,
}

/// One annotation: its kind, Prometheus' message, and the sub-expression it is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Annotation {
    /// Warning or info.
    pub kind: AnnotationKind,
    /// The message, without the `PromQL warning: ` prefix and the position.
    pub message: String,
    /// The canonical text of the sub-expression the annotation is about.
    pub expr: String,
}

impl Annotation {
    /// The 1-based line and column of the sub-expression in `query`: the first place where
    /// its canonical text appears as whole tokens. The syntax tree keeps no positions yet,
    /// so a sub-expression written differently from its canonical form is not found.
    pub fn position(&self, query: &str) -> Option<(usize, usize)> {
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
        let first = self.expr.chars().next()?;
        let last = self.expr.chars().last()?;
        let at = query.match_indices(self.expr.as_str()).find_map(|(i, _)| {
            let before = query[..i].chars().last();
            let after = query[i + self.expr.len()..].chars().next();
            let clean_before = !(word(first) && before.is_some_and(word));
            let clean_after = !(word(last) && after.is_some_and(word));
            (clean_before && clean_after).then_some(i)
        })?;
        let line = query[..at].matches('\n').count() + 1;
        let col = query[..at]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        Some((line, col))
    }

    /// Prometheus' rendering: `PromQL warning: <message> (<line>:<col>)` (without the
    /// position when it cannot be found).
    pub fn render(&self, query: &str) -> String {
        let kind = match self.kind {
            AnnotationKind::Warning => "warning",
            AnnotationKind::Info => "info",
        };
        match self.position(query) {
            Some((l, c)) => format!("PromQL {kind}: {} ({l}:{c})", self.message),
            None => format!("PromQL {kind}: {}", self.message),
        }
    }
}

/// The annotations of one query, without duplicates, in the order raised.
#[derive(Debug, Default)]
pub(crate) struct Notes(RefCell<Vec<Annotation>>);

impl Notes {
    /// Records an annotation about `e`.
    pub fn add(&self, kind: AnnotationKind, message: String, e: &Expr) {
        let a = Annotation {
            kind,
            message,
            expr: e.to_string(),
        };
        let mut v = self.0.borrow_mut();
        if !v.contains(&a) {
            v.push(a);
        }
    }

    /// Everything recorded.
    pub fn take(&self) -> Vec<Annotation> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// Prometheus' warning for a quantile outside `[0, 1]`.
pub(crate) fn check_quantile(notes: &Notes, qs: &[f64], e: &Expr) {
    let mut seen: Vec<u64> = Vec::new();
    for &q in qs {
        if (0.0..=1.0).contains(&q) || seen.contains(&q.to_bits()) {
            continue;
        }
        seen.push(q.to_bits());
        notes.add(
            AnnotationKind::Warning,
            format!("quantile value should be between 0 and 1, got {q}"),
            e,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_found_at_token_boundaries() {
        let a = Annotation {
            kind: AnnotationKind::Warning,
            message: "m".into(),
            expr: "x".into(),
        };
        assert_eq!(a.position("max(x)"), Some((1, 5)));
        assert_eq!(a.render("max(\n x)"), "PromQL warning: m (2:2)");
        assert_eq!(a.position("max(y)"), None);
    }
}
