//! Lines from VictoriaMetrics' and InfluxDB's documentation, with the names and values
//! VictoriaMetrics 1.x stores for them (checked against the `victoria-metrics` binary),
//! and a table of malformed lines.

use super::*;

fn names(line: &str, naming: &InfluxNaming) -> Vec<(String, f64)> {
    let l = parse_line(line.as_bytes()).unwrap().unwrap();
    l.fields
        .iter()
        .map(|(k, v)| (l.metric_name(k, naming), *v))
        .collect()
}

#[test]
fn documented_example_names_and_values() {
    let l = parse_line(
        br#"measurement,tag1=value1,tag2=value2 field1=123,field2=1.23,s="str",n="12",b=true,f=F,u=5u,i=-3i 1695000000000000000"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(l.measurement, "measurement");
    assert_eq!(
        l.tags,
        vec![
            ("tag1".into(), "value1".into()),
            ("tag2".into(), "value2".into())
        ]
    );
    assert_eq!(l.timestamp, Some(1_695_000_000_000_000_000));
    assert_eq!(l.fields_written, 8);
    let got: Vec<(String, f64)> = l
        .fields
        .iter()
        .map(|(k, v)| (l.metric_name(k, &InfluxNaming::default()), *v))
        .collect();
    let want: Vec<(String, f64)> = [
        ("measurement_field1", 123.0),
        ("measurement_field2", 1.23),
        ("measurement_n", 12.0),
        ("measurement_b", 1.0),
        ("measurement_f", 0.0),
        ("measurement_u", 5.0),
        ("measurement_i", -3.0),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), *v))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn naming_flags() {
    let sep = InfluxNaming {
        separator: ".".into(),
        ..InfluxNaming::default()
    };
    assert_eq!(names("cpu usage=1", &sep), vec![("cpu.usage".into(), 1.0)]);
    let single = InfluxNaming {
        skip_single_field: true,
        ..InfluxNaming::default()
    };
    assert_eq!(
        names("single value=2", &single),
        vec![("single".into(), 2.0)]
    );
    assert_eq!(
        names("two a=1,b=2", &single),
        vec![("two_a".into(), 1.0), ("two_b".into(), 2.0)]
    );
    let skip = InfluxNaming {
        skip_measurement: true,
        ..InfluxNaming::default()
    };
    assert_eq!(names("m a=1", &skip), vec![("a".into(), 1.0)]);
}

#[test]
fn escapes_as_victoriametrics_reads_them() {
    let l = parse_line(br#"esc\ m\,x,t\ k=v\=a\,b f\ 1=3,q="a \"b\", c" 5"#)
        .unwrap()
        .unwrap();
    assert_eq!(l.measurement, "esc m,x");
    assert_eq!(l.tags, vec![("t k".into(), "v=a,b".into())]);
    assert_eq!(l.fields, vec![("f 1".into(), 3.0)]);
    assert_eq!(l.fields_written, 2);
    assert_eq!(l.timestamp, Some(5));
    assert_eq!(
        l.metric_name("f 1", &InfluxNaming::default()),
        "esc m,x_f 1"
    );
    // A backslash before another character stays.
    let l = parse_line(br"a\b,t=c\d v=1").unwrap().unwrap();
    assert_eq!(l.measurement, r"a\b");
    assert_eq!(l.tags[0].1, r"c\d");
}

#[test]
fn blanks_comments_and_spacing() {
    assert_eq!(parse_line(b"").unwrap(), None);
    assert_eq!(parse_line(b"   \r").unwrap(), None);
    assert_eq!(parse_line(b"# comment").unwrap(), None);
    let l = parse_line(b"  m  v=1   7 \r").unwrap().unwrap();
    assert_eq!((l.fields[0].1, l.timestamp), (1.0, Some(7)));
    let l = parse_line(b"m v=1").unwrap().unwrap();
    assert_eq!(l.timestamp, None);
}

#[test]
fn precisions() {
    let ts = 1_695_000_000;
    assert_eq!(Precision::parse("s").unwrap().to_ms(ts), Some(ts * 1000));
    assert_eq!(
        Precision::parse("").unwrap().to_ms(ts * 1_000_000_000),
        Some(ts * 1000)
    );
    assert_eq!(
        Precision::parse("us").unwrap().to_ms(ts * 1_000_000),
        Some(ts * 1000)
    );
    assert_eq!(
        Precision::parse("ms").unwrap().to_ms(ts * 1000),
        Some(ts * 1000)
    );
    assert_eq!(Precision::parse("m").unwrap().to_ms(2), Some(120_000));
    assert_eq!(Precision::parse("h").unwrap().to_ms(1), Some(3_600_000));
    assert_eq!(Precision::parse("h").unwrap().to_ms(i64::MAX), None);
    assert_eq!(Precision::parse("d"), None);
}

#[test]
fn malformed_lines() {
    let cases: &[(&[u8], usize, InfluxErrorKind)] = &[
        (
            b"bad line here",
            4,
            InfluxErrorKind::MissingEquals("line".into()),
        ),
        (
            b"cpu2 x=1,y 5",
            9,
            InfluxErrorKind::MissingEquals("y".into()),
        ),
        (b"cpu", 3, InfluxErrorKind::MissingFields),
        (b",t=1 v=1", 0, InfluxErrorKind::MissingMeasurement),
        (b"m,t v=1", 2, InfluxErrorKind::MissingEquals("t".into())),
        (
            b"m v=abc",
            2,
            InfluxErrorKind::InvalidValue {
                field: "v".into(),
                value: "abc".into(),
            },
        ),
        (
            b"m v=",
            2,
            InfluxErrorKind::InvalidValue {
                field: "v".into(),
                value: "".into(),
            },
        ),
        (
            b"m v=1.5i",
            2,
            InfluxErrorKind::InvalidValue {
                field: "v".into(),
                value: "1.5i".into(),
            },
        ),
        (b"m v=\"abc", 2, InfluxErrorKind::UnterminatedString),
        (
            b"m v=1 12x",
            6,
            InfluxErrorKind::InvalidTimestamp("12x".into()),
        ),
        (
            b"m v=1 1 2",
            6,
            InfluxErrorKind::InvalidTimestamp("1 2".into()),
        ),
        (b"m\xff v=1", 1, InfluxErrorKind::NotUtf8),
    ];
    for (line, offset, kind) in cases {
        assert_eq!(
            parse_line(line).unwrap_err(),
            InfluxError {
                offset: *offset,
                kind: kind.clone()
            },
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)) {
        let _ = parse_line(&bytes);
    }

    #[test]
    fn escaped_names_round_trip(m in "[a-z ,=]{1,8}", k in "[a-z ,=]{1,6}", v in "[a-z ,=]{1,6}") {
        let esc = |s: &str| s.replace(' ', "\\ ").replace(',', "\\,").replace('=', "\\=");
        let line = format!("{},{}={} f=1", esc(&m), esc(&k), esc(&v));
        let l = parse_line(line.as_bytes()).unwrap().unwrap();
        proptest::prop_assert_eq!(l.measurement.as_ref(), m.as_str());
        proptest::prop_assert_eq!(l.tags[0].0.as_ref(), k.as_str());
        proptest::prop_assert_eq!(l.tags[0].1.as_ref(), v.as_str());
    }
}
