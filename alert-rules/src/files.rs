//! Reading rule files: one file, or several paths and globs (`-rule=/etc/rules/*.yml`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::rulefmt::{ParseOptions, RuleGroups, parse_rules};

/// Reads and validates one rule file.
///
/// # Errors
/// [`Error::Io`] when it cannot be read, [`Error::RuleFile`] with every problem found.
pub fn parse_file(path: &Path, opts: &ParseOptions) -> Result<RuleGroups> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_rules(&text, opts).map_err(|errors| Error::RuleFile {
        path: path.to_path_buf(),
        errors,
    })
}

/// Expands paths and glob patterns into files, sorted per pattern and without
/// duplicates. A pattern without glob characters is kept even if the file is missing (so
/// reading it reports the error); a glob that matches nothing gives nothing.
///
/// # Errors
/// [`Error::Glob`] for a malformed pattern.
pub fn expand_globs<S: AsRef<str>>(patterns: &[S]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in patterns {
        let p = p.as_ref();
        let found: Vec<PathBuf> = if p.contains(['*', '?', '[']) {
            let paths = glob::glob(p).map_err(|e| Error::Glob {
                pattern: p.to_string(),
                detail: e.to_string(),
            })?;
            let mut v: Vec<PathBuf> = paths.filter_map(std::result::Result::ok).collect();
            v.sort();
            v
        } else {
            vec![PathBuf::from(p)]
        };
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// Reads every file of `patterns` (paths and globs), each with its groups.
///
/// # Errors
/// The first file that cannot be read or is invalid, as [`parse_file`]; [`Error::Glob`].
pub fn parse_files<S: AsRef<str>>(
    patterns: &[S],
    opts: &ParseOptions,
) -> Result<Vec<(PathBuf, RuleGroups)>> {
    expand_globs(patterns)?
        .into_iter()
        .map(|f| parse_file(&f, opts).map(|g| (f, g)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_plain_paths() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.yml", "a.yml", "c.txt"] {
            std::fs::write(dir.path().join(n), "groups: []\n").unwrap();
        }
        let pat = format!("{}/*.yml", dir.path().display());
        let missing = format!("{}/none.yml", dir.path().display());
        let files = expand_globs(&[pat.clone(), pat, missing.clone()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.yml", "b.yml", "none.yml"]);
        let err = parse_files(&[missing], &ParseOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(matches!(expand_globs(&["[x"]), Err(Error::Glob { .. })));
    }
}
