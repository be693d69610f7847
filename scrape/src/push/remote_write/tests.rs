//! The hand-written reader against prost-derived messages (the reference encoding of the
//! remote-write .proto), garbage inputs, and a round-trip property.

use gnomon_tsdb_core::model::{Labels, STALE_NAN, Sample};
use proptest::prelude::*;
use prost::Message;

use super::*;

#[derive(Clone, PartialEq, prost::Message)]
struct PbWriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<PbTimeSeries>,
    #[prost(message, repeated, tag = "3")]
    metadata: Vec<PbMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbTimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<PbLabel>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<PbSample>,
    #[prost(message, repeated, tag = "3")]
    exemplars: Vec<PbExemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbLabel {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbSample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbExemplar {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<PbLabel>,
    #[prost(double, tag = "2")]
    value: f64,
    #[prost(int64, tag = "3")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbMetadata {
    #[prost(int32, tag = "1")]
    r#type: i32,
    #[prost(string, tag = "2")]
    metric_family_name: String,
    #[prost(string, tag = "4")]
    help: String,
    #[prost(string, tag = "5")]
    unit: String,
}

fn label(n: &str, v: &str) -> PbLabel {
    PbLabel {
        name: n.into(),
        value: v.into(),
    }
}

fn request() -> PbWriteRequest {
    PbWriteRequest {
        timeseries: vec![
            PbTimeSeries {
                labels: vec![
                    label("__name__", "node_cpu_seconds_total"),
                    label("job", "node"),
                    label("cpu", "0"),
                ],
                samples: vec![
                    PbSample {
                        value: 1.5,
                        timestamp: 1_700_000_000_000,
                    },
                    PbSample {
                        value: f64::from_bits(STALE_NAN.to_bits()),
                        timestamp: -5,
                    },
                ],
                exemplars: vec![PbExemplar {
                    labels: vec![label("trace_id", "abc")],
                    value: 1.0,
                    timestamp: 3,
                }],
            },
            PbTimeSeries {
                labels: vec![label("__name__", "up"), label("empty", "")],
                samples: vec![PbSample {
                    value: 1.0,
                    timestamp: 0,
                }],
                exemplars: vec![],
            },
        ],
        metadata: vec![PbMetadata {
            r#type: 1,
            metric_family_name: "up".into(),
            help: "h".into(),
            unit: String::new(),
        }],
    }
}

#[test]
fn reads_what_prost_writes() {
    let bytes = request().encode_to_vec();
    let req = WriteRequest::parse(&bytes).unwrap();
    assert_eq!(req.series.len(), 2);
    assert_eq!(req.metadata, 1);
    assert_eq!(req.sample_count(), 3);
    let a = &req.series[0];
    assert_eq!(
        a.labels().collect::<Vec<_>>(),
        vec![
            ("__name__", "node_cpu_seconds_total"),
            ("job", "node"),
            ("cpu", "0")
        ]
    );
    assert_eq!(
        a.to_labels(),
        Labels::from_pairs(&[
            ("__name__", "node_cpu_seconds_total"),
            ("cpu", "0"),
            ("job", "node")
        ])
    );
    let s: Vec<Sample> = a.samples().collect();
    assert_eq!(s[0], Sample::new(1_700_000_000_000, 1.5));
    assert_eq!(s[1].t, -5);
    assert_eq!(s[1].v.to_bits(), STALE_NAN.to_bits());
    // The empty-valued label is dropped from the label set.
    assert_eq!(
        req.series[1].to_labels(),
        Labels::from_pairs(&[("__name__", "up")])
    );
    // Labels come first, so the key is their bytes; same labels, same key.
    let again = request().encode_to_vec();
    let req2 = WriteRequest::parse(&again).unwrap();
    assert_eq!(a.label_key(), req2.series[0].label_key());
    assert_ne!(a.label_key(), req.series[1].label_key());
}

#[test]
fn writer_output_is_read_by_prost() {
    let series = vec![(
        Labels::from_pairs(&[("__name__", "m"), ("a", "b")]),
        vec![
            Sample::new(-1, 2.5),
            Sample::new(i64::MAX, f64::NEG_INFINITY),
        ],
    )];
    let bytes = encode(&series);
    let pb = PbWriteRequest::decode(&bytes[..]).unwrap();
    assert_eq!(
        pb.timeseries[0].labels,
        vec![label("__name__", "m"), label("a", "b")]
    );
    assert_eq!(pb.timeseries[0].samples[0].timestamp, -1);
    assert_eq!(pb.timeseries[0].samples[1].value, f64::NEG_INFINITY);
}

#[test]
fn interleaved_labels_have_no_key() {
    // labels, sample, label: the key would not cover every label.
    let mut ts = Vec::new();
    let mut item = Vec::new();
    put_bytes(&mut item, 1, b"__name__");
    put_bytes(&mut item, 2, b"x");
    put_bytes(&mut ts, 1, &item);
    put_bytes(&mut ts, 2, &[]);
    item.clear();
    put_bytes(&mut item, 1, b"b");
    put_bytes(&mut item, 2, b"c");
    put_bytes(&mut ts, 1, &item);
    let mut msg = Vec::new();
    put_bytes(&mut msg, 1, &ts);
    let req = WriteRequest::parse(&msg).unwrap();
    assert_eq!(req.series[0].label_key(), None);
    assert_eq!(req.series[0].counts(), (2, 1));
    assert_eq!(req.series[0].samples().next(), Some(Sample::new(0, 0.0)));
}

#[test]
fn garbage_is_a_typed_error_with_its_offset() {
    let cases: &[(&[u8], usize, &str)] = &[
        (b"\x0a", 1, "truncated varint"),
        (b"\x0a\x05ab", 2, "field runs past the end of its message"),
        (b"\x08\x01", 1, "timeseries is not length-delimited"),
        (b"\x00", 1, "field number 0"),
        (
            b"\x1b",
            1,
            "unsupported wire type (groups are not used by remote write)",
        ),
        (
            b"\x0a\x06\x0a\x04\x0a\x02\xff\xfe",
            6,
            "label name or value is not UTF-8",
        ),
        (
            b"\x0a\x04\x12\x02\x08\x01",
            5,
            "sample value or timestamp has a wrong wire type",
        ),
        (
            b"\x0a\x0c\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
            12,
            "varint longer than 10 bytes",
        ),
    ];
    for (input, offset, what) in cases {
        assert_eq!(
            WriteRequest::parse(input).unwrap_err(),
            RemoteWriteError::Protobuf {
                offset: *offset,
                what
            },
            "{input:?}"
        );
    }
}

#[test]
fn snappy_limits_and_corruption() {
    let raw = request().encode_to_vec();
    let z = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    assert_eq!(decompress(&z, 1 << 20).unwrap(), raw);
    assert_eq!(
        decompress(&z, 10).unwrap_err(),
        RemoteWriteError::TooLarge {
            size: raw.len(),
            max: 10
        }
    );
    assert!(matches!(
        decompress(b"\xff\xff\xff\xff\x0fjunk", 1 << 40).unwrap_err(),
        RemoteWriteError::Snappy(_)
    ));
    assert!(matches!(
        decompress(b"", 10).unwrap_err(),
        RemoteWriteError::Snappy(_)
    ));
}

fn arb_series() -> impl Strategy<Value = Vec<(Labels, Vec<Sample>)>> {
    let labels = proptest::collection::btree_map("[a-z_]{1,5}", "\\PC{1,6}", 1..5)
        .prop_map(|m| Labels::from_pairs(&m.into_iter().collect::<Vec<_>>()));
    let samples = proptest::collection::vec(
        (any::<i64>(), any::<u64>()).prop_map(|(t, b)| Sample::new(t, f64::from_bits(b))),
        0..4,
    );
    proptest::collection::vec((labels, samples), 0..5)
}

proptest! {
    #[test]
    fn round_trip(series in arb_series()) {
        let bytes = encode(&series);
        let req = WriteRequest::parse(&bytes).unwrap();
        prop_assert_eq!(req.series.len(), series.len());
        for (got, (labels, samples)) in req.series.iter().zip(&series) {
            prop_assert_eq!(&got.to_labels(), labels);
            let back: Vec<(i64, u64)> = got.samples().map(|s| (s.t, s.v.to_bits())).collect();
            let want: Vec<(i64, u64)> = samples.iter().map(|s| (s.t, s.v.to_bits())).collect();
            prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(req) = WriteRequest::parse(&bytes) {
            for s in &req.series {
                let (nl, ns) = s.counts();
                prop_assert_eq!(s.labels().count(), nl);
                prop_assert_eq!(s.samples().count(), ns);
            }
        }
    }
}

fn arb_long_series() -> impl Strategy<Value = Vec<(Labels, Vec<Sample>)>> {
    // Values past 127 and 16383 bytes need two- and three-byte length varints.
    let value = prop_oneof!["\\PC{1,6}", "[a-z]{120,140}", "[a-z]{16380,16390}"];
    let labels = proptest::collection::btree_map("[a-z_]{1,5}", value, 1..4)
        .prop_map(|m| Labels::from_pairs(&m.into_iter().collect::<Vec<_>>()));
    let samples = proptest::collection::vec(
        (any::<i64>(), any::<f64>()).prop_map(|(t, v)| Sample::new(t, v)),
        0..3,
    );
    proptest::collection::vec((labels, samples), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prost_reads_what_the_encoder_writes(series in arb_long_series()) {
        let pb = PbWriteRequest::decode(&encode(&series)[..]).unwrap();
        prop_assert_eq!(pb.timeseries.len(), series.len());
        for (got, (labels, samples)) in pb.timeseries.iter().zip(&series) {
            let want: Vec<PbLabel> = labels.iter().map(|l| label(&l.name, &l.value)).collect();
            prop_assert_eq!(&got.labels, &want);
            let back: Vec<(i64, u64)> =
                got.samples.iter().map(|s| (s.timestamp, s.value.to_bits())).collect();
            let want: Vec<(i64, u64)> = samples.iter().map(|s| (s.t, s.v.to_bits())).collect();
            prop_assert_eq!(back, want);
        }
    }
}
