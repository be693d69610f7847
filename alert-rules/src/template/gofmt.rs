//! Go's `fmt` number formatting, as templates print values: `%v` of a float (shortest
//! digits, exponent from 1e21), `%.4g`, and `printf` with Go verbs.

use super::value::TValue;

/// `strconv.FormatFloat(v, 'g', -1, 64)` as `fmt` prints `%v`.
pub(crate) fn float_v(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{v:e}");
    let exp: i32 = e
        .split('e')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    if !(-4..21).contains(&exp) {
        exp_form(&e)
    } else {
        format!("{v}")
    }
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// Rust `1.5e-7` → Go `1.5e-07`.
fn exp_form(rust_e: &str) -> String {
    let (m, x) = rust_e.split_once('e').unwrap_or((rust_e, "0"));
    let n: i32 = x.parse().unwrap_or(0);
    let sign = if n < 0 { '-' } else { '+' };
    format!("{m}e{sign}{:02}", n.abs())
}

/// `%.{prec}g`.
pub(crate) fn float_g(v: f64, prec: Option<usize>) -> String {
    let Some(p) = prec else {
        return float_v(v);
    };
    if let Some(s) = special(v) {
        return s;
    }
    let p = p.max(1);
    if v == 0.0 {
        return "0".into();
    }
    let e = format!("{:.*e}", p - 1, v);
    let exp: i32 = e
        .split('e')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let (m, x) = e.split_once('e').unwrap_or((&e, "0"));
        exp_form(&format!("{}e{x}", trim_zeros(m)))
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// One parsed verb spec: flags, width, precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf` for the verbs templates use.
pub(crate) fn sprintf(format: &str, args: &[TValue]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        spec.width = num(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(num(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let body = verb_body(verb, &spec, arg);
        pad(&mut out, &body, &spec, verb);
    }
    let extra: Vec<String> = args
        .map(|a| format!("{}={}", a.go_type(), a.to_go_string()))
        .collect();
    if !extra.is_empty() {
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn verb_body(verb: char, spec: &Spec, arg: &TValue) -> String {
    let sign = |s: String, neg: bool| {
        if neg || s.starts_with('-') {
            s
        } else if spec.plus {
            format!("+{s}")
        } else if spec.space {
            format!(" {s}")
        } else {
            s
        }
    };
    match (verb, arg) {
        ('v' | 's', a) => {
            let s = a.to_go_string();
            match spec.prec {
                Some(p) if verb == 's' => s.chars().take(p).collect(),
                _ => s,
            }
        }
        ('q', a) => format!("{:?}", a.to_go_string()),
        ('t', TValue::Bool(b)) => b.to_string(),
        ('d', TValue::Int(i)) => sign(i.to_string(), *i < 0),
        ('x', TValue::Int(i)) => format!("{i:x}"),
        ('X', TValue::Int(i)) => format!("{i:X}"),
        ('x', TValue::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('f' | 'F' | 'e' | 'E' | 'g' | 'G', a) if a.as_f64().is_some() => {
            let v = a.as_f64().unwrap_or(0.0);
            let s = match verb {
                'f' | 'F' => {
                    special(v).unwrap_or_else(|| format!("{:.*}", spec.prec.unwrap_or(6), v))
                }
                'e' | 'E' => special(v)
                    .unwrap_or_else(|| exp_form(&format!("{:.*e}", spec.prec.unwrap_or(6), v))),
                _ => float_g(v, spec.prec),
            };
            let s = if verb.is_ascii_uppercase() {
                s.to_uppercase()
            } else {
                s
            };
            sign(s, v < 0.0)
        }
        (v, a) => format!("%!{v}({}={})", a.go_type(), a.to_go_string()),
    }
}

fn pad(out: &mut String, body: &str, spec: &Spec, verb: char) {
    let len = body.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(body);
        return;
    }
    let fill = w - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && "dfFeEgGxX".contains(verb) {
        let (sign, digits) = match body.strip_prefix(['-', '+']) {
            Some(d) => (&body[..1], d),
            None => ("", body),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(float_v(0.5), "0.5");
        assert_eq!(float_v(100000.0), "100000");
        assert_eq!(float_v(1e21), "1e+21");
        assert_eq!(float_v(1.5e-7), "1.5e-07");
        assert_eq!(float_v(f64::INFINITY), "+Inf");
        assert_eq!(float_g(1234.5, Some(4)), "1234");
        assert_eq!(float_g(12345.0, Some(4)), "1.234e+04");
        assert_eq!(float_g(0.5, Some(4)), "0.5");
        assert_eq!(float_g(100.0, Some(4)), "100");
        assert_eq!(float_g(0.00001234, Some(4)), "1.234e-05");
    }

    #[test]
    fn printf_verbs() {
        let f = TValue::Float(2.71234);
        assert_eq!(sprintf("%.2f", std::slice::from_ref(&f)), "2.71");
        assert_eq!(
            sprintf("%5.1f|%-5d|%05d", &[f, TValue::Int(7), TValue::Int(-42)]),
            "  2.7|7    |-0042"
        );
        assert_eq!(
            sprintf("%s is %v%%", &[TValue::Str("x".into()), TValue::Int(5)]),
            "x is 5%"
        );
        assert_eq!(
            sprintf("%q %d", &[TValue::Str("a\"b".into())]),
            "\"a\\\"b\" %!d(MISSING)"
        );
        assert_eq!(sprintf("%d", &[TValue::Str("a".into())]), "%!d(string=a)");
    }
}
