//! Request bodies: gzip decoding with a size bound.

use std::io::Read;

use axum::http::{HeaderMap, StatusCode, header};

/// The body, gunzipped when `Content-Encoding: gzip`; at most `max` bytes after decoding.
///
/// Errors are a status and a message: 400 for a corrupt gzip stream, 413 when the
/// decoded body is larger than `max`, 415 for an encoding other than gzip or identity.
pub(super) fn decode(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(body.to_vec()),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("cannot decode gzip request body: {e}"),
                    )
                })?;
            if out.len() > max {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("decoded request body is larger than {max} bytes"),
                ));
            }
            Ok(out)
        }
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {other:?}; want gzip or none"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn headers(enc: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, enc.parse().unwrap());
        h
    }

    #[test]
    fn gzip_is_decoded_and_bounded() {
        let data = b"up 1\n".repeat(100);
        assert_eq!(decode(&headers("gzip"), &gz(&data), 1000).unwrap(), data);
        let (status, _) = decode(&headers("gzip"), &gz(&data), 499).unwrap_err();
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, msg) = decode(&headers("gzip"), b"not gzip", 1000).unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(msg.contains("gzip"), "{msg}");
        let (status, _) = decode(&headers("br"), b"", 10).unwrap_err();
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(decode(&HeaderMap::new(), b"x", 10).unwrap(), b"x");
    }
}
