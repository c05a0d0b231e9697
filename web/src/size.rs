//! Sizes as people read them: binary units (KiB, MiB, GiB, TiB) with one decimal, and the
//! exact byte count for an element's `title`, so that it shows on hover.

/// "512 B", "1.5 KiB", "320.0 MiB", "2.0 GiB".
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// [`human`] of a byte count kept as `f64` (progress meters add them up as such).
pub fn human_f64(bytes: f64) -> String {
    human(bytes.max(0.0) as u64)
}

/// "2,147,483,649 bytes".
pub fn exact(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 6);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out.push_str(if bytes == 1 { " byte" } else { " bytes" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_units_with_one_decimal() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.0 KiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(320 << 20), "320.0 MiB");
        assert_eq!(human((1 << 30) - 1), "1024.0 MiB");
        assert_eq!(human(1 << 31), "2.0 GiB");
        assert_eq!(human(5 << 40), "5.0 TiB");
        assert_eq!(human(5 << 50), "5120.0 TiB");
        assert_eq!(human_f64(-0.0), "0 B");
        assert_eq!(human_f64(2048.0), "2.0 KiB");
    }

    #[test]
    fn exact_counts_group_thousands() {
        assert_eq!(exact(0), "0 bytes");
        assert_eq!(exact(1), "1 byte");
        assert_eq!(exact(999), "999 bytes");
        assert_eq!(exact(1000), "1,000 bytes");
        assert_eq!(exact(2_147_483_649), "2,147,483,649 bytes");
    }
}
