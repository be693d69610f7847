//! Measures how deep the parser, printer and drop can go on a 2 MiB thread:
//! `cargo run -p gnomon-promql --example depthprobe -- paren 200`.
fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let q = match kind.as_str() {
        "paren" => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        "unary" => format!("{}x", "-".repeat(n)),
        "calls" => format!("{}x{}", "abs(".repeat(n), ")".repeat(n)),
        "dur" => format!("x[{}1{}]", "(".repeat(n), ")".repeat(n)),
        _ => vec!["1"; n].join(" ^ "),
    };
    let opts = gnomon_promql::ParseOptions {
        metricsql: true,
        max_depth: n * 3,
    };
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let r = gnomon_promql::parse_with(&q, &opts);
            let printed = r.as_ref().map(|e| e.to_string().len());
            println!(
                "{kind} {n}: {:?}",
                printed.map_err(|e| e.to_string().lines().next().map(String::from))
            );
        })
        .expect("spawn");
    h.join().expect("join");
}
